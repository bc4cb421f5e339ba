/**
 * Aggregation strategies, in Flower's shape: the coordinator runs the round loop and a {@link
 * io.pqfl.coordinator.aggregate.Strategy} fills in hooks — the training configuration of a round and of each client,
 * which clients are sampled, and how a round's verified updates become the next global model ({@link
 * io.pqfl.coordinator.aggregate.RoundAggregator}). Built in ({@link io.pqfl.coordinator.aggregate.Strategies#NAMES}):
 * FedAvg, FedProx, FedAdam, FedYogi, FedAdagrad (server optimisers with their state checkpointed), FedMedian,
 * trimmed mean, Krum and Multi-Krum (Byzantine-robust); chosen by name and parameters.
 *
 * <p>On a coordinator, by configuration ({@code pqfl coordinator --strategy trimmedmean --strategy-param beta=0.2}),
 * or through the Java API:
 *
 * <pre>{@code
 * CoordinatorConfig config = CoordinatorConfig.builder().federationId("demo").dataDir(Path.of("pqfl-data"))
 *         .initialModel(Path.of("initial.pqfl"))
 *         .strategy("fedadam").strategyParams(Map.of("eta", "0.01", "beta1", "0.9"))
 *         .rounds(20).minClients(4).build();
 * }</pre>
 *
 * <p>On its own, over updates that passed the verifier (a {@code VerifiedUpdate} exists only once its signature,
 * nonce, round and base model checked out; {@code StrategyExampleTest} runs this code):
 *
 * <pre>{@code
 * Strategy median = Strategies.create("fedmedian", Map.of());
 * median.checkClients(3);                                  // refuses settings it cannot honour
 * RoundAggregator round = median.begin(1, global);         // global: the round's base model, not modified
 * for (VerifiedUpdate update : verified) {
 *     round.accept(update);
 * }
 * ModelWeights next = round.finish();                      // coordinate-wise median of the updates
 * }</pre>
 *
 * <p>A new strategy implements {@link io.pqfl.coordinator.aggregate.Strategy#begin} (and, if it keeps state across
 * rounds, {@code state()}/{@code restore()}) and is added to {@link io.pqfl.coordinator.aggregate.Strategies#create};
 * {@code StrategyGoldenTest} pins every built-in against hand-computed results.
 */
package io.pqfl.coordinator.aggregate;
