package io.pqfl.coordinator;

import static io.pqfl.protocol.ProtocolFixtures.plus;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.pqfl.coordinator.server.Statuses;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.RejectReason;
import io.pqfl.proto.v1.SubmitResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.assertj.core.api.ThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An upload retried after its answer was lost: the coordinator answers {@code DUPLICATE} and names, in two trailers,
 * the ledger entry and digest of the update it accepted from that client for that round, whether the round is still
 * open or has closed since. It tells no one else, names nothing for a round the client did not deliver, and never
 * counts an update twice.
 */
class UploadRetryTest {
    @TempDir
    Path dir;


    private static StatusRuntimeException refusal(ThrowableAssert.ThrowingCallable call) {
        Throwable[] thrown = new Throwable[1];
        assertThatThrownBy(call).isInstanceOfSatisfying(StatusRuntimeException.class, e -> thrown[0] = e);
        return (StatusRuntimeException) thrown[0];
    }

    @Test
    void retriedUpload_isAnsweredWithTheAcceptedEntry_inTheOpenRoundAndAfterItClosed_andCountsOnce() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 2, b -> b.rounds(2))) {
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            TestClient.ReceivedTask t1 = c1.task(15_000);
            ModelWeights update = plus(t1.model(), 1);
            SubmitResponse first = c1.submit(t1, update, 10);
            assertThat(first.getAccepted()).isTrue();
            String digest = update.digest().hex();
            assertThat(first.getUpdateDigest().toByteArray()).isEqualTo(PayloadDigest.ofHex(digest).bytes());

            // The same update again while round 1 is open: DUPLICATE, naming the accepted entry and its digest.
            StatusRuntimeException open = refusal(() -> c1.submit(t1, update, 10));
            assertThat(open.getStatus().getCode()).isEqualTo(Status.Code.ALREADY_EXISTS);
            assertThat(Statuses.reasonOf(open)).isEqualTo(RejectReason.DUPLICATE);
            assertThat(open.getTrailers().get(Statuses.ACCEPTED_SEQ_KEY)).isEqualTo(Long.toString(first.getLedgerSeq()));
            assertThat(open.getTrailers().get(Statuses.ACCEPTED_DIGEST_KEY)).isEqualTo(digest);
            assertThat(open.getStatus().getDescription()).contains("ledger entry " + first.getLedgerSeq());

            // Another update for the same round is told the digest of the accepted one: a client can tell them apart.
            StatusRuntimeException other = refusal(() -> c1.submit(t1, plus(t1.model(), 5), 10));
            assertThat(other.getTrailers().get(Statuses.ACCEPTED_DIGEST_KEY)).isEqualTo(digest);

            // c2 delivers; round 1 closes and round 2 opens.
            TestClient.ReceivedTask t2 = c2.task(15_000);
            c2.submit(t2, plus(t2.model(), 3), 10);
            Await.until(Duration.ofSeconds(20), "round 1 to close", () -> fed.engine.status().closedRounds() >= 1);
            TestClient.ReceivedTask next = c1.task(15_000);
            assertThat(next.header().getRound()).isEqualTo(2);

            // The retry of round 1 now: still DUPLICATE with the same entry, not STALE_ROUND.
            StatusRuntimeException closed = refusal(() -> c1.submit(t1, update, 10));
            assertThat(Statuses.reasonOf(closed)).isEqualTo(RejectReason.DUPLICATE);
            assertThat(closed.getTrailers().get(Statuses.ACCEPTED_SEQ_KEY)).isEqualTo(Long.toString(first.getLedgerSeq()));
            assertThat(closed.getTrailers().get(Statuses.ACCEPTED_DIGEST_KEY)).isEqualTo(digest);

            // c1's round-1 upload counted once: one accepted entry of c1 in round 1, and the model is the mean.
            assertThat(fed.coordinator.ledger().entriesOfRound(1)).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_ACCEPTED)
                    .extracting(LedgerEntry::clientId).containsExactlyInAnyOrder("c1", "c2");
            assertThat(next.model().tensor(1)).containsExactly(plus(t1.model(), 2).tensor(1));
        }
    }

    @Test
    void aRoundTheClientDidNotDeliver_orAnotherClientsUpdate_isNeverNamed() throws Exception {
        try (TestFederation fed = TestFederation.start(dir, 3, b -> b.rounds(2).minClients(2).clientsPerRound(2)
                .roundTimeout(Duration.ofSeconds(3)))) {
            TestClient c1 = fed.client("c1");
            TestClient c2 = fed.client("c2");
            c1.hello();
            c2.hello();
            TestClient.ReceivedTask t1 = c1.task(15_000);
            TestClient.ReceivedTask t2 = c2.task(15_000);
            c2.submit(t2, plus(t2.model(), 3), 10);
            // Round 1 times out with c1 silent; round 2 opens (2 clients are live).
            Await.until(Duration.ofSeconds(20), "round 2 to open", () -> fed.engine.status().currentRound() >= 2);

            // c1 never delivered round 1: its late upload is refused as late, with no accepted entry named.
            StatusRuntimeException late = refusal(() -> c1.submit(t1, plus(t1.model(), 1), 10));
            assertThat(Statuses.reasonOf(late)).isIn(RejectReason.STALE_ROUND, RejectReason.NO_OPEN_ROUND);
            assertThat(late.getTrailers().get(Statuses.ACCEPTED_SEQ_KEY)).isNull();
            assertThat(late.getTrailers().get(Statuses.ACCEPTED_DIGEST_KEY)).isNull();

            // c1 sends c2's round-1 header under its own session: SESSION_MISMATCH, and nothing of c2's update.
            StatusRuntimeException borrowed = refusal(() -> c1.send(c2.prepare(t2, plus(t2.model(), 3), 10)));
            assertThat(Statuses.reasonOf(borrowed)).isEqualTo(RejectReason.SESSION_MISMATCH);
            assertThat(borrowed.getTrailers().get(Statuses.ACCEPTED_SEQ_KEY)).isNull();
            assertThat(borrowed.getTrailers().get(Statuses.ACCEPTED_DIGEST_KEY)).isNull();
        }
    }
}
