package io.pqfl.coordinator.round;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/**
 * The upload memory budget beside the updates a round holds (a median, trimmed mean or Krum keeps them all until the
 * round closes): an upload starts only while the uploads in progress and the held updates leave room for it, and
 * rounds sample no more clients than it can take updates of.
 */
class UploadBudgetTest {
    static final long MODEL = 1_000;
    static final long UPLOAD = MODEL + MODEL / 2;
    static final long HEAP = 1L << 30;

    @Test
    void heldUpdates_leaveNoRoomForAnUpload_thenItIsRefused_evenWithNoneInProgress() {
        UploadBudget b = UploadBudget.forModel(1024, 3 * MODEL + UPLOAD, MODEL, HEAP);
        assertThat(b.tryReserve(UPLOAD, 3 * MODEL)).isTrue(); // exactly fits
        b.release(UPLOAD);
        assertThat(b.tryReserve(UPLOAD, 3 * MODEL + 1)).isFalse();
        assertThat(b.uploads()).isZero();
        assertThat(b.bytes()).isZero();
        // Held updates and uploads in progress share the budget.
        assertThat(b.tryReserve(UPLOAD, MODEL)).isTrue();
        assertThat(b.tryReserve(UPLOAD, 2 * MODEL)).isFalse(); // 1,500 in progress + 2,000 held + 1,500 > 4,500
        assertThat(b.tryReserve(UPLOAD, 0)).isTrue(); // a folding round holds nothing: 3,000 of 4,500
    }

    @Test
    void withNothingHeld_oneUploadIsAlwaysAllowed_evenBeyondTheBudget() {
        UploadBudget b = UploadBudget.forModel(1024, 10, MODEL, HEAP);
        assertThat(b.tryReserve(UPLOAD)).isTrue();
        assertThat(b.tryReserve(UPLOAD)).isFalse();
    }

    @Test
    void updatesFitting_countsTheLastUploadThatStartsBesideTheOthers() {
        assertThat(UploadBudget.forModel(1024, 3 * MODEL + UPLOAD, MODEL, HEAP).updatesFitting(MODEL)).isEqualTo(4);
        assertThat(UploadBudget.forModel(1024, 3 * MODEL + UPLOAD - 1, MODEL, HEAP).updatesFitting(MODEL)).isEqualTo(3);
        assertThat(UploadBudget.forModel(1024, UPLOAD - 1, MODEL, HEAP).updatesFitting(MODEL)).isEqualTo(1);
    }

    @Test
    void aBudgetThatCannotTakeMinUpdatesHeldUpdates_isRefused_naming_sizesInKiBWhenSmall() {
        assertThatThrownBy(() -> UploadBudget.forModel(1024, 2 * MODEL + UPLOAD - 1, MODEL, HEAP, 3, "krum"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("krum keeps every update of a round until it closes: the 3 updates a round needs")
                .hasMessageContaining("3 KiB")
                .hasMessageNotContaining("0 MiB")
                .hasMessageContaining("--upload-memory-mib");
        assertThat(UploadBudget.forModel(1024, 2 * MODEL + UPLOAD, MODEL, HEAP, 3, "krum").updatesFitting(MODEL))
                .isEqualTo(3);
        // A folding strategy (0 held updates) is never refused for it.
        assertThat(UploadBudget.forModel(1024, 1, MODEL, HEAP, 0, "fedavg").updatesFitting(MODEL)).isEqualTo(1);
    }

    @Test
    void sizes_areWrittenInTheLargestUnitThatIsNotZero() {
        assertThat(UploadBudget.size(512)).isEqualTo("512 bytes");
        assertThat(UploadBudget.size(3_499)).isEqualTo("3 KiB");
        assertThat(UploadBudget.size(5L << 20)).isEqualTo("5 MiB");
    }
}
