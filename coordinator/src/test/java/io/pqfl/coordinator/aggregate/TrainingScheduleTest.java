package io.pqfl.coordinator.aggregate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.protocol.TrainingConfig;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

class TrainingScheduleTest {
    private static final TrainingConfig BASE = new TrainingConfig(2, 32, 0.1f, 0f, "sgd");

    private static float lr(String spec, long round, long total) {
        return TrainingSchedule.parse(spec, null).forRound(round, total, BASE).learningRate();
    }

    @Test
    void constant_keepsTheBaseEveryRound() {
        assertThat(TrainingSchedule.CONSTANT.forRound(7, 10, BASE)).isEqualTo(BASE);
    }

    @Test
    void step_multipliesEveryNRounds() {
        assertThat(lr("step:0.5@2", 1, 10)).isEqualTo(0.1f);
        assertThat(lr("step:0.5@2", 2, 10)).isEqualTo(0.1f);
        assertThat(lr("step:0.5@2", 3, 10)).isCloseTo(0.05f, Offset.offset(1e-7f));
        assertThat(lr("step:0.5@2", 5, 10)).isCloseTo(0.025f, Offset.offset(1e-7f));
    }

    @Test
    void exp_andCosine_followTheirFormulas() {
        assertThat(lr("exp:0.9", 3, 10)).isCloseTo(0.081f, Offset.offset(1e-6f));
        assertThat(lr("cosine", 1, 5)).isEqualTo(0.1f);
        assertThat(lr("cosine", 3, 5)).isCloseTo((0.001f + 0.1f) / 2, Offset.offset(1e-6f));
        assertThat(lr("cosine", 5, 5)).isCloseTo(0.001f, Offset.offset(1e-7f));
        assertThat(lr("cosine:0.01", 5, 5)).isCloseTo(0.01f, Offset.offset(1e-7f));
    }

    @Test
    void epochs_changeFromTheNamedRounds_otherFieldsKept() {
        TrainingSchedule s = TrainingSchedule.parse("constant", "3:4, 6:1");
        assertThat(s.forRound(2, 10, BASE).localEpochs()).isEqualTo(2);
        assertThat(s.forRound(3, 10, BASE).localEpochs()).isEqualTo(4);
        assertThat(s.forRound(5, 10, BASE).localEpochs()).isEqualTo(4);
        TrainingConfig r7 = s.forRound(7, 10, BASE);
        assertThat(r7.localEpochs()).isEqualTo(1);
        assertThat(r7.batchSize()).isEqualTo(32);
        assertThat(r7.optimizer()).isEqualTo("sgd");
    }

    @Test
    void badSpecs_areRefusedNamingWhatIsWrong() {
        assertThatThrownBy(() -> TrainingSchedule.parse("linear", null)).hasMessageContaining("unknown learning-rate schedule 'linear'");
        assertThatThrownBy(() -> TrainingSchedule.parse("step:0.5", null)).hasMessageContaining("step needs F@N");
        assertThatThrownBy(() -> TrainingSchedule.parse("exp:-1", null)).hasMessageContaining("G > 0");
        assertThatThrownBy(() -> TrainingSchedule.parse("exp:abc", null)).hasMessageContaining("not a number");
        assertThatThrownBy(() -> TrainingSchedule.parse(null, "0:2")).hasMessageContaining("ROUND:EPOCHS");
        assertThatThrownBy(() -> TrainingSchedule.parse(null, "2:1,2:3")).hasMessageContaining("names round 2 twice");
        // A rate that underflows to zero by the last round is refused when the run is configured, not in round 90.
        assertThatThrownBy(() -> TrainingSchedule.parse("exp:1e-10", null).validate(100, BASE))
                .hasMessageContaining("rates must stay positive");
    }
}
