package io.pqfl.coordinator;

import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;

import io.pqfl.coordinator.aggregate.TrainingSchedule;
import io.pqfl.protocol.TrainingConfig;
import io.pqfl.protocol.WireMapping;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The round's training configuration, as the schedule makes it, reaches the clients in their signed tasks. */
class TrainingScheduleTaskTest {
    @TempDir
    Path dir;

    @Test
    void eachRoundsSignedTask_carriesTheScheduledLearningRateAndEpochs() throws Exception {
        try (TestFederation f = TestFederation.start(dir, 2, b -> b.rounds(2)
                .training(new TrainingConfig(1, 16, 0.2f, 0f, "sgd"))
                .trainingSchedule(TrainingSchedule.parse("step:0.5@1", "2:3")))) {
            List<TestClient> clients = List.of(f.client("c1"), f.client("c2"));
            clients.forEach(TestClient::hello);
            for (long round = 1; round <= 2; round++) {
                for (TestClient c : clients) {
                    TestClient.ReceivedTask task = c.task(10_000);
                    TrainingConfig config = WireMapping.fromWire(task.header().getConfig());
                    assertThat(task.header().getRound()).isEqualTo(round);
                    assertThat(config.learningRate()).isEqualTo(round == 1 ? 0.2f : 0.1f);
                    assertThat(config.localEpochs()).isEqualTo(round == 1 ? 1 : 3);
                    assertThat(config.batchSize()).isEqualTo(16);
                    assertThat(c.submit(task, tiny(round), 10).getAccepted()).isTrue();
                }
            }
        }
    }
}
