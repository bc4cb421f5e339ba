package io.pqfl.app.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.pqfl.app.Pqfl;
import io.pqfl.client.agent.ClientAgent;
import io.pqfl.client.model.ModelCatalog;
import io.pqfl.coordinator.Await;
import io.pqfl.coordinator.store.DataDirectory;
import io.pqfl.coordinator.store.Database;
import io.pqfl.coordinator.store.Ledger;
import io.pqfl.coordinator.store.LedgerEntry;
import io.pqfl.coordinator.store.LedgerVerifier;
import io.pqfl.coordinator.store.ModelFiles;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.KeyPem;
import io.pqfl.crypto.Keys;
import io.pqfl.crypto.SignatureScheme;
import io.pqfl.crypto.SigningKey;
import io.pqfl.protocol.ModelStatement;
import io.pqfl.protocol.ModelWeights;
import io.pqfl.protocol.UpdateStatement;
import io.pqfl.sim.load.CoordinatorProcess;
import io.pqfl.sim.load.LoadRun;
import io.pqfl.sim.load.SyntheticTrainer;
import io.pqfl.trainer.EvaluateResult;
import io.pqfl.trainer.FitResult;
import io.pqfl.trainer.TrainContext;
import io.pqfl.trainer.Trainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A coordinator process killed with SIGKILL in the middle of a round, after two of four updates were
 * accepted, and started again on the same data directory and port: the round resumes with the same nonce,
 * keeps the two accepted updates, takes the other two from the same client agents (which reconnect by
 * themselves), aggregates each exactly once, and the federation finishes with a verifiable ledger.
 */
class CoordinatorCrashTest {
    @TempDir
    Path dir;

    @Test
    void killedMidRound_restarted_roundCompletesWithEveryUpdateOnce_ledgerVerifies() throws Exception {
        int clients = 4;
        SigningKey coordinatorKey = Keys.generate(SignatureScheme.ML_DSA_65);
        KeyPem.writeKeyPair(coordinatorKey, dir.resolve("coordinator.key"), dir.resolve("coordinator.pub"), null);
        DataDirectory data = DataDirectory.of(dir.resolve("data"));
        Files.createDirectories(data.trust());
        List<SigningKey> keys = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            keys.add(Keys.generate(SignatureScheme.ML_DSA_44));
            KeyPem.writeVerifyingKey(keys.get(i).verifyingKey(), data.trust().resolve("c" + i + ".pub"));
        }
        int port = CoordinatorProcess.freePort();
        List<String> args = List.of("--key", dir.resolve("coordinator.key").toString(), "--data-dir", data.root().toString(),
                "--host", "127.0.0.1", "--port", Integer.toString(port), "--rounds", "2", "--min-clients", "4",
                "--model", "mlp", "--round-timeout", "2m", "--linger", "3s", "--plaintext", "--no-final-evaluation");
        CountDownLatch holdBack = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        List<ManagedChannel> channels = new ArrayList<>();
        List<Future<ClientAgent.Summary>> results = new ArrayList<>();
        CoordinatorProcess first = new CoordinatorProcess(Pqfl.class.getName(), args, "256m", dir.resolve("coordinator-1.log")).start();
        CoordinatorProcess second = null;
        try {
            for (int i = 0; i < clients; i++) {
                ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().maxInboundMessageSize(8 << 20)
                        .build();
                channels.add(ch);
                float d = LoadRun.delta(i * 11);
                boolean late = i >= 2;
                ClientAgent agent = new ClientAgent(ch, ClientAgent.Settings.builder(new ClientId("c" + i), keys.get(i),
                        coordinatorKey.verifyingKey()).pollWait(Duration.ofSeconds(5)).seed(i).build(),
                        heldBack(new SyntheticTrainer(ModelCatalog.MLP.manifest(), d), late ? holdBack : null),
                        ClientAgent.Progress.NONE);
                results.add(pool.submit(agent::run));
            }
            // Wait until c0 and c1 are accepted in round 1, then kill the coordinator without warning.
            Await.until(Duration.ofSeconds(60), "the first coordinator to accept c0's and c1's round-1 updates",
                    () -> accepted(first) >= 2, first::tail);
            assertThat(accepted(first)).as(first.tail()).isEqualTo(2);
            first.kill();
            assertThat(first.isAlive()).isFalse();

            second = new CoordinatorProcess(Pqfl.class.getName(), args, "256m", dir.resolve("coordinator-2.log")).start();
            holdBack.countDown();
            for (Future<ClientAgent.Summary> f : results) {
                ClientAgent.Summary s = f.get(3, TimeUnit.MINUTES);
                String logs = "first coordinator:\n" + first.tail() + "\nsecond coordinator:\n" + second.tail();
                assertThat(s.finished()).as(logs).isTrue();
                assertThat(s.updatesRejected()).as(logs).isZero();
            }
            assertThat(second.await(Duration.ofMinutes(1))).as(second.tail()).isZero();
        } finally {
            holdBack.countDown();
            pool.shutdownNow();
            for (ManagedChannel ch : channels) {
                ch.shutdownNow();
            }
            first.close();
            if (second != null) {
                second.close();
            }
        }

        try (Database db = Database.open(data.jdbcUrl())) {
            List<LedgerEntry> entries = new Ledger(db, Clock.systemUTC()).entries();
            assertThat(entries).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_ACCEPTED).hasSize(8)
                    .extracting(e -> e.round() + "/" + e.clientId()).doesNotHaveDuplicates();
            // Round 1's updates from before and after the crash carry one nonce: the round resumed, not restarted.
            assertThat(entries).filteredOn(e -> e.kind() == LedgerEntry.Kind.UPDATE_ACCEPTED && e.round() == 1)
                    .extracting(e -> HexFormat.of().formatHex(
                            UpdateStatement.decode(e.statement()).nonce().bytes()))
                    .hasSize(4).containsOnly(HexFormat.of().formatHex(
                            UpdateStatement.decode(entries.stream().filter(
                                    e -> e.kind() == LedgerEntry.Kind.UPDATE_ACCEPTED).findFirst().orElseThrow().statement())
                                    .nonce().bytes()));
            for (LedgerEntry e : entries) {
                if (e.kind() == LedgerEntry.Kind.MODEL_PUBLISHED && e.round() > 0) {
                    assertThat(ModelStatement.decode(e.statement()).receipt()).hasSize(clients);
                }
            }
            LedgerVerifier.Report report = LedgerVerifier.verify(db, coordinatorKey.verifyingKey(), data.checkpoints());
            assertThat(report.ok()).as(report.problem()).isTrue();
        }
        ModelWeights initial = ModelFiles.read(data.checkpoint(0)).weights();
        ModelWeights last = ModelFiles.read(data.checkpoint(2)).weights();
        float mean = 0;
        for (int i = 0; i < clients; i++) {
            mean += LoadRun.delta(i * 11);
        }
        mean /= clients;
        for (int j = 0; j < 100; j++) {
            assertThat(last.tensor(0)[j]).isCloseTo(initial.tensor(0)[j] + 2 * mean, org.assertj.core.data.Offset.offset(1e-5f));
        }
    }

    private static double accepted(CoordinatorProcess c) {
        String m = c.scrape();
        double n = m == null ? Double.NaN : CoordinatorProcess.sum(m, "pqfl_updates_total", "outcome=\"accepted\"");
        return Double.isNaN(n) ? 0 : n;
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(2, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }


    /** {@code trainer}, whose round-1 fit finishes only once {@code latch} opens (when it is not null). */
    private static Trainer heldBack(SyntheticTrainer trainer, CountDownLatch latch) {
        return new Trainer() {
            @Override
            public io.pqfl.protocol.ModelManifest manifest() {
                return trainer.manifest();
            }

            @Override
            public FitResult fit(ModelWeights global, TrainContext context) {
                if (latch != null && context.round() == 1) {
                    await(latch); // c2 and c3 finish "training" only after the crash
                }
                return trainer.fit(global, context);
            }

            @Override
            public EvaluateResult evaluate(ModelWeights model, TrainContext context) {
                return trainer.evaluate(model, context);
            }
        };
    }
}
