package io.pqfl.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.StatusRuntimeException;
import io.pqfl.coordinator.server.Statuses;
import io.pqfl.protocol.RejectReason;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;

/** The one way tests check a refusal: the call fails with the reason's status code, trailer and description. */
final class Refusals {
    private Refusals() {
    }

    static StatusRuntimeException assertRefused(ThrowingCallable call, RejectReason reason) {
        StatusRuntimeException[] caught = new StatusRuntimeException[1];
        assertThatThrownBy(call).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).as(e.getStatus().toString()).isEqualTo(Statuses.code(reason));
            assertThat(Statuses.reasonOf(e)).as(e.getStatus().toString()).isEqualTo(reason);
            assertThat(e.getStatus().getDescription()).startsWith(reason.name() + ": ");
            caught[0] = e;
        });
        return caught[0];
    }
}
