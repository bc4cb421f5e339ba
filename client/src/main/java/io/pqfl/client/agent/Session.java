package io.pqfl.client.agent;

import com.google.protobuf.ByteString;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.MetadataUtils;
import io.pqfl.proto.v1.Challenge;
import io.pqfl.proto.v1.ChallengeRequest;
import io.pqfl.proto.v1.EnrollmentProof;
import io.pqfl.proto.v1.EnrollmentRequest;
import io.pqfl.proto.v1.FederationGrpc;
import io.pqfl.proto.v1.HelloRequest;
import io.pqfl.proto.v1.HelloResponse;
import io.pqfl.protocol.EnrollmentStatement;
import io.pqfl.protocol.SessionStatement;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's standing with the coordinator: enrollment with a one-time token, then Hello (a challenge signed
 * with the client's key, bound to the pinned coordinator key) for the session token that every later call
 * carries. Both retry with {@link Backoff} while the coordinator is unavailable or busy.
 */
final class Session {
    // The agent's classes log under one name, as before they were split: a filter on ClientAgent sees every line.
    private static final Logger log = LoggerFactory.getLogger(ClientAgent.class);
    private static final Metadata.Key<String> SESSION = Metadata.Key.of(SessionStatement.METADATA_KEY,
            Metadata.ASCII_STRING_MARSHALLER);
    private static final long CALL_SECONDS = 30;

    /** The coordinator is not the one this client pinned: nothing it says is trusted, nothing is sent to it. */
    static final class NotPinnedCoordinator extends RuntimeException {
        private static final long serialVersionUID = 1L;

        NotPinnedCoordinator(String message) {
            super(message, null, false, false);
        }
    }

    private final FederationGrpc.FederationBlockingStub blocking;
    private final ClientAgent.Settings settings;
    private final Random jitter;
    private final BooleanSupplier stopping;
    private volatile String token;
    private String federationId;

    Session(FederationGrpc.FederationBlockingStub blocking, ClientAgent.Settings settings, Random jitter,
            BooleanSupplier stopping) {
        this.blocking = blocking;
        this.settings = settings;
        this.jitter = jitter;
        this.stopping = stopping;
    }

    /** The federation joined at the last Hello; null before the first. */
    String federationId() {
        return federationId;
    }

    /** {@code stub} with the session token attached to every call. */
    <S extends AbstractStub<S>> S attach(S stub) {
        Metadata md = new Metadata();
        String t = token;
        if (t != null) {
            md.put(SESSION, t);
        }
        return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
    }

    /**
     * Registers this client's key with the settings' one-time token, when there is one: asks for a challenge,
     * signs the enrollment statement over it (proof of possession) and completes. An already enrolled client
     * carries on.
     */
    void enrollIfAsked() throws InterruptedException {
        if (settings.enrollToken() == null) {
            return;
        }
        Backoff backoff = new Backoff(Backoff.INITIAL, settings.maxBackoff(), jitter);
        while (true) {
            try {
                enroll(settings.enrollToken());
                return;
            } catch (StatusRuntimeException e) {
                if (!Failures.retryable(e) || stopping.getAsBoolean()) {
                    throw e;
                }
                Duration wait = backoff.next();
                log.warn("Coordinator unavailable for enrollment ({}); retrying in {} ms", e.getStatus().getCode(),
                        wait.toMillis());
                Thread.sleep(wait.toMillis());
            }
        }
    }

    private void enroll(String enrollToken) {
        ByteString publicKey = ByteString.copyFrom(settings.key().verifyingKey().encoded());
        try {
            var challenge = blocking.withDeadlineAfter(CALL_SECONDS, TimeUnit.SECONDS).beginEnrollment(
                    EnrollmentRequest.newBuilder().setClientId(settings.clientId().value())
                            .setPublicKey(publicKey).build());
            byte[] c = challenge.getChallenge().toByteArray();
            byte[] proof = EnrollmentStatement.prove(challenge.getFederationId(), settings.clientId(), c,
                    settings.key(), enrollToken);
            var result = blocking.withDeadlineAfter(CALL_SECONDS, TimeUnit.SECONDS).completeEnrollment(
                    EnrollmentProof.newBuilder().setClientId(settings.clientId().value()).setPublicKey(publicKey)
                            .setToken(enrollToken).setChallenge(ByteString.copyFrom(c))
                            .setSignature(ByteString.copyFrom(proof)).build());
            log.info("Enrolled in federation {} as {} with key {}", result.getFederationId(), settings.clientId(),
                    result.getKeyId());
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.ALREADY_EXISTS) {
                log.info("Already enrolled ({}); the token was not used", e.getStatus().getDescription());
                return;
            }
            throw e;
        }
    }

    /**
     * Opens a session: asks for a challenge, proves possession of the client's key over it, and keeps the token.
     * The unsigned baseline says Hello with its key too: the coordinator admits clients by that proof.
     *
     * @throws NotPinnedCoordinator when the coordinator announces another key than the pinned one
     */
    void hello() throws InterruptedException {
        Backoff backoff = new Backoff(Backoff.INITIAL, settings.maxBackoff(), jitter);
        while (true) {
            try {
                helloOnce();
                return;
            } catch (StatusRuntimeException e) {
                if (!Failures.retryable(e) || stopping.getAsBoolean()) {
                    throw e;
                }
                Duration wait = backoff.next();
                log.warn("Coordinator unavailable ({}); retrying in {} ms", e.getStatus().getCode(), wait.toMillis());
                Thread.sleep(wait.toMillis());
            }
        }
    }

    private void helloOnce() {
        var pinned = settings.coordinatorKey().keyId();
        Challenge challenge = blocking.withDeadlineAfter(CALL_SECONDS, TimeUnit.SECONDS).getChallenge(
                ChallengeRequest.newBuilder().setClientId(settings.clientId().value()).build());
        requireSameFederation(challenge.getFederationId());
        if (!challenge.getCoordinatorKeyId().equals(pinned.hex())) {
            String announced = challenge.getCoordinatorKeyId();
            throw new NotPinnedCoordinator("the coordinator announces key "
                    + (announced.matches("[0-9a-f]{32}") ? announced : "(malformed)") + ", but this client pinned "
                    + pinned + ": it will not authenticate to it nor train on its models");
        }
        byte[] c = challenge.getChallenge().toByteArray();
        // The proof names the coordinator key this client pinned: it is good for that coordinator only.
        byte[] proof = SessionStatement.prove(challenge.getFederationId(), pinned, settings.clientId(), c,
                settings.key());
        HelloRequest.Builder request = HelloRequest.newBuilder()
                .setClientId(settings.clientId().value()).setKeyId(settings.key().keyId().hex())
                .setScheme(settings.key().scheme().displayName())
                .setAgent("pqfl-client/0.1 java/" + System.getProperty("java.version"))
                .setChallenge(ByteString.copyFrom(c)).setSignature(ByteString.copyFrom(proof));
        if (settings.certificate() != null) {
            request.setCertificate(ByteString.copyFrom(settings.certificate()));
        }
        HelloResponse r = blocking.withDeadlineAfter(CALL_SECONDS, TimeUnit.SECONDS).hello(request.build());
        if (!r.getCoordinatorKeyId().equals(pinned.hex())) {
            log.warn("Coordinator announces model key {}, but the pinned key is {}: its models will be refused",
                    r.getCoordinatorKeyId(), pinned);
        }
        requireSameFederation(r.getFederationId());
        federationId = r.getFederationId();
        token = r.getSessionToken();
        switch (settings.signing()) {
            case SIGNED -> log.info("Joined federation {} as {} ({} key {})", federationId, settings.clientId(),
                    settings.key().scheme(), settings.key().keyId());
            case UNSIGNED_BASELINE -> log.info("Joined federation {} as {} (key {}); updates are sent unsigned: "
                    + "the research baseline", federationId, settings.clientId(), settings.key().keyId());
        }
    }

    private void requireSameFederation(String announced) {
        if (federationId != null && !federationId.equals(announced)) {
            throw new IllegalStateException("the coordinator now serves federation " + announced + ", not "
                    + federationId);
        }
    }
}
