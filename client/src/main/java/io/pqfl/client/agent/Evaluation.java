package io.pqfl.client.agent;

import io.grpc.StatusRuntimeException;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.proto.v1.EvaluationResponse;
import io.pqfl.proto.v1.FederationGrpc;
import io.pqfl.protocol.ClientMetrics;
import io.pqfl.protocol.EvaluationStatement;
import io.pqfl.protocol.RoundNonce;
import io.pqfl.protocol.TrainingConfig;
import io.pqfl.protocol.WireMapping;
import io.pqfl.trainer.EvaluateResult;
import io.pqfl.trainer.TrainContext;
import io.pqfl.trainer.Trainer;
import io.pqfl.trainer.TrainerException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The answer to a verified EVALUATE task: the trainer evaluates the round's global model on the client's held-out
 * examples ({@link Trainer#evaluate}), and the client signs an evaluation statement over the model digest it
 * computed, the loss, the example count and the metrics, and submits it ({@code SubmitEvaluation}). Never trains.
 */
final class Evaluation {
    private static final Logger log = LoggerFactory.getLogger(ClientAgent.class);

    private final FederationGrpc.FederationBlockingStub blocking;
    private final Session session;
    private final ClientAgent.Settings settings;
    private final Trainer trainer;

    Evaluation(FederationGrpc.FederationBlockingStub blocking, Session session, ClientAgent.Settings settings,
               Trainer trainer) {
        this.blocking = blocking;
        this.session = session;
        this.settings = settings;
        this.trainer = trainer;
    }

    /** What became of an evaluation task. */
    enum Outcome { ACCEPTED, REFUSED, NOT_SENT }

    Outcome answer(Task task, TrainingConfig config) {
        long round = task.round();
        EvaluateResult result;
        try {
            result = trainer.evaluate(task.model(), TrainContext.of(round, config, settings.seed() * 1_000_003L + round));
        } catch (TrainerException | RuntimeException e) {
            log.error("Round {}: evaluation failed, nothing sent: {}", round, e.getMessage(), e);
            return Outcome.NOT_SENT;
        }
        if (result == null || result.examples() < 1) {
            log.warn("Round {}: no held-out examples to evaluate the global model on; nothing sent", round);
            return Outcome.NOT_SENT;
        }
        if (!Double.isFinite(result.loss())) {
            log.error("Round {}: the trainer's evaluation loss is {}; nothing sent", round, result.loss());
            return Outcome.NOT_SENT;
        }
        EvaluationStatement statement = new EvaluationStatement(session.federationId(), round,
                RoundNonce.of(task.header().getNonce().toByteArray()), settings.clientId(), task.digest(), result.loss(),
                result.examples(), sendable(result.metrics()), settings.key().scheme(), settings.key().keyId());
        SignatureValue signature = switch (settings.signing()) {
            case SIGNED -> statement.sign(Signer.create(settings.key()));
            case UNSIGNED_BASELINE -> null;
        };
        var report = WireMapping.toWire(statement, signature);
        // Busy (rate limited) or unreachable: the same signed report is sent again, with backoff, until the task's
        // deadline; a session that ended is renewed first. Any other refusal is final for this evaluation.
        Backoff backoff = new Backoff(Backoff.INITIAL, settings.maxBackoff(), new java.util.Random());
        long deadline = task.header().getDeadlineUnixMs();
        while (true) {
            try {
                EvaluationResponse response = session.attach(blocking)
                        .withDeadlineAfter(settings.rpcTimeout().toMillis(), TimeUnit.MILLISECONDS)
                        .submitEvaluation(report);
                log.info("Round {}: evaluation accepted (ledger entry {}): loss {} on {} examples", round,
                        response.getLedgerSeq(), String.format(java.util.Locale.ROOT, "%.4f", result.loss()),
                        result.examples());
                return Outcome.ACCEPTED;
            } catch (StatusRuntimeException e) {
                boolean again = Failures.retryable(e) || Failures.sessionEnded(e);
                long wait = backoff.next().toMillis();
                if (!again || (deadline > 0 && System.currentTimeMillis() + wait >= deadline)) {
                    log.warn("Round {}: evaluation refused: {} {}", round, Failures.reason(e), e.getStatus().getDescription());
                    return Outcome.REFUSED;
                }
                log.info("Round {}: evaluation not taken yet ({}); sending it again in {} ms", round,
                        Failures.reason(e) != null ? Failures.reason(e) : e.getStatus().getCode(), wait);
                try {
                    Thread.sleep(wait);
                    if (Failures.sessionEnded(e)) {
                        session.hello();
                    }
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    return Outcome.NOT_SENT;
                }
            }
        }
    }

    /** The metrics the coordinator accepts (names, count, finite values); others are left out, with a warning. */
    private static Map<String, Double> sendable(Map<String, Double> metrics) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (var e : metrics.entrySet()) {
            try {
                ClientMetrics.checkName(e.getKey());
                ClientMetrics.checkValue(e.getValue(), e.getKey());
                if (out.size() < ClientMetrics.MAX_ENTRIES) {
                    out.put(e.getKey(), e.getValue());
                }
            } catch (IllegalArgumentException ex) {
                log.warn("Leaving metric '{}' out of the evaluation: {}", e.getKey(), ex.getMessage());
            }
        }
        return out;
    }
}
