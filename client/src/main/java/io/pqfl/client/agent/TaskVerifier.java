package io.pqfl.client.agent;

import io.pqfl.crypto.KeyId;
import io.pqfl.proto.v1.TaskHeader;
import io.pqfl.protocol.ModelManifest;
import io.pqfl.protocol.ModelRejectedException;
import io.pqfl.protocol.TaskStatement;
import io.pqfl.protocol.WireMapping;
import java.io.IOException;

/**
 * Decides whether a received task may be trained on. Nothing from the task is loaded or run before
 * {@link #check} returns: a task that fails is refused whole, and the coordinator key is the pinned one, never
 * one the coordinator announces.
 */
final class TaskVerifier {
    private final ClientAgent.Settings settings;
    private final ClientState state;
    private final ModelManifest trains;

    /** @param trains the model this client's trainer trains: a task for any other is refused */
    TaskVerifier(ClientAgent.Settings settings, ClientState state, ModelManifest trains) {
        this.settings = settings;
        this.state = state;
        this.trains = trains;
    }

    /**
     * Every check before training, in order: the task is for this client and federation, its header is signed by
     * the pinned coordinator key over the model actually received, the model's own statement verifies, both name
     * the same model round, neither the task nor the model is older than what this client already accepted, and
     * the model is the one this client's trainer trains. Then the task is remembered (on disk, when configured).
     * Returns the verified statement, whose signed kind says whether to train or only evaluate.
     */
    TaskStatement check(Task task, String federationId) throws ModelRejectedException {
        TaskHeader h = task.header();
        if (!h.getClientId().equals(settings.clientId().value())) {
            throw new ModelRejectedException("the task is for client '" + h.getClientId() + "', not " + settings.clientId());
        }
        if (!h.getFederationId().equals(federationId)) {
            throw new ModelRejectedException("the task is for federation '" + h.getFederationId() + "', not " + federationId);
        }
        TaskStatement statement;
        try {
            statement = WireMapping.taskStatement(h, task.digest(), settings.coordinatorKey().scheme(),
                    settings.coordinatorKey().keyId());
        } catch (IllegalArgumentException e) {
            throw new ModelRejectedException("malformed task header: " + e.getMessage(), e);
        }
        statement.verify(settings.coordinatorKey(), h.getSignature().toByteArray());
        task.signed().verify(settings.coordinatorKey(), federationId, task.digest());
        if (task.signed().statement().modelRound() != h.getModelRound()) {
            throw new ModelRejectedException("the task names model round " + h.getModelRound()
                    + ", the model's signed statement says " + task.signed().statement().modelRound());
        }
        KeyId pinned = settings.coordinatorKey().keyId();
        long newestTask = state.newestTaskRound(federationId, pinned);
        long newestModel = state.newestModelRound(federationId, pinned);
        if (h.getRound() < newestTask) {
            throw new ModelRejectedException("the task is for round " + h.getRound() + ", but this client already accepted "
                    + "round " + newestTask + "'s task (an old task replayed?)");
        }
        if (h.getModelRound() < newestModel) {
            throw new ModelRejectedException("the model is from round " + h.getModelRound() + ", older than the round "
                    + newestModel + " model this client already trained on (an old model replayed?)");
        }
        trainable(trains, task.model().manifest());
        try {
            state.accepted(federationId, pinned, h.getRound(), h.getModelRound());
        } catch (IOException e) {
            throw new IllegalStateException("cannot record the accepted task in " + state.file() + ": " + e.getMessage(), e);
        }
        return statement;
    }

    /**
     * Refuses (rather than throws) a task whose model is not exactly {@code trains}: the same tensors, names, shapes
     * and architecture label. The message names the first difference.
     */
    static void trainable(ModelManifest trains, ModelManifest offered) throws ModelRejectedException {
        if (!trains.equals(offered)) {
            throw new ModelRejectedException("the coordinator's model '" + offered.architecture() + "' is not the one this "
                    + "client's trainer trains ('" + trains.architecture() + "'): " + trains.describeMismatch(offered));
        }
    }
}
