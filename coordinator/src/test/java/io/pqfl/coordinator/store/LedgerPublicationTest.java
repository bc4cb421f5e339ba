package io.pqfl.coordinator.store;

import static io.pqfl.protocol.ProtocolFixtures.FEDERATION;
import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.coordinator.Await;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SigningKey;
import io.pqfl.protocol.LedgerHead;
import io.pqfl.protocol.ModelStatement;
import io.pqfl.protocol.ProtocolFixtures;
import io.pqfl.protocol.RoundNonce;
import io.pqfl.protocol.SignedModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How the store publishes a model: signed over the ledger head it is appended after, under the database lock. */
class LedgerPublicationTest {
    @TempDir
    Path dir;

    private final SigningKey key = ProtocolFixtures.coordinatorKey();
    private Database db;
    private Ledger ledger;
    private RunStore runs;

    @BeforeEach
    void open() throws SQLException {
        db = Database.open(DataDirectory.of(dir).jdbcUrl());
        ledger = new Ledger(db, Clock.systemUTC());
        runs = new RunStore(db, ledger, Clock.systemUTC());
    }

    @AfterEach
    void close() throws SQLException {
        db.close();
    }

    private Path checkpoints() {
        return DataDirectory.of(dir).checkpoints();
    }

    /** What the engine does in a publication: sign over the head, write the checkpoint. */
    private SignedModel publish(long round, LedgerHead head) throws IOException {
        ModelStatement s = new ModelStatement(FEDERATION, round, tiny(round).digest(), round == 0 ? null : tiny(round - 1).digest(),
                head, List.of(), key.scheme(), key.keyId());
        SignedModel signed = new SignedModel(s, Signer.create(key).sign(s.encode()));
        ModelFiles.write(DataDirectory.of(dir).checkpoint(round), tiny(round), signed);
        return signed;
    }

    private SignedModel createRunAndOpenRound1() throws Exception {
        SignedModel initial = runs.createRun(FEDERATION, key.verifyingKey(), 3, "test", head -> publish(0, head));
        runs.openRound(new RoundRecord(1, RoundNonce.of(new byte[RoundNonce.BYTES]), RoundRecord.State.OPEN,
                List.of(new ClientId("c1")), tiny(0).digest(), 0, null));
        return initial;
    }

    private static Ledger.Draft rejection(long round) {
        return new Ledger.Draft(LedgerEntry.Kind.UPDATE_REJECTED, round, "c1", null, null, null, null, null,
                "STALE_ROUND", "test");
    }

    @Test
    void createRun_signsTheInitialModelOverTheEmptyHead_asTheFirstEntry() throws Exception {
        SignedModel initial = runs.createRun(FEDERATION, key.verifyingKey(), 3, "test", head -> publish(0, head));

        assertThat(initial.statement().ledgerHead()).isEqualTo(LedgerHead.EMPTY);
        List<LedgerEntry> entries = ledger.entries();
        assertThat(entries).singleElement().satisfies(e -> {
            assertThat(e.kind()).isEqualTo(LedgerEntry.Kind.MODEL_PUBLISHED);
            assertThat(e.statement()).isEqualTo(initial.statement().encode());
        });
        assertThat(ledger.head().matches(entries.get(0).entryHash())).isTrue();
        assertThat(runs.run()).isPresent();
        assertThat(ModelFiles.readSignature(DataDirectory.of(dir).checkpoint(0)).statement().encode())
                .isEqualTo(initial.statement().encode());
    }

    @Test
    void completeRound_anAppendFromAnotherThreadWaitsUntilTheModelEntryIsWritten() throws Exception {
        createRunAndOpenRound1();
        ledger.append(rejection(1));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread rejecter = new Thread(() -> {
            try {
                ledger.append(rejection(1));
            } catch (SQLException | RuntimeException e) {
                failure.set(e);
            }
        });

        SignedModel model = runs.completeRound(1, 1, 2, head -> {
            rejecter.start();
            // The other append is now waiting for the database lock that this publication runs under.
            Await.until(Duration.ofSeconds(10), "the concurrent append to block on the database lock",
                    () -> rejecter.getState() == Thread.State.BLOCKED);
            return publish(1, head);
        });
        rejecter.join();

        assertThat(failure.get()).isNull();
        List<LedgerEntry> entries = ledger.entries();
        assertThat(entries).extracting(LedgerEntry::kind).containsExactly(LedgerEntry.Kind.MODEL_PUBLISHED,
                LedgerEntry.Kind.UPDATE_REJECTED, LedgerEntry.Kind.MODEL_PUBLISHED, LedgerEntry.Kind.UPDATE_REJECTED);
        assertThat(model.statement().ledgerHead().matches(entries.get(1).entryHash())).isTrue();
        assertThat(entries.get(2).statement()).isEqualTo(model.statement().encode());
        assertThat(runs.openRound()).isEmpty();
        assertThat(runs.rounds()).singleElement().satisfies(r -> {
            assertThat(r.state()).isEqualTo(RoundRecord.State.COMPLETED);
            assertThat(r.modelDigest()).isEqualTo(tiny(1).digest());
        });

        LedgerVerifier.Report report = LedgerVerifier.verify(db, key.verifyingKey(), checkpoints());
        assertThat(report.ok()).as(report.problem()).isTrue();
        assertThat(report.checkpoints()).isEqualTo(2);
        assertThat(report.coverage()).isEqualTo(new LedgerVerifier.Coverage(1, 3, 1));
    }

    @Test
    void append_refusesAModelThatBindsAnotherHead() throws Exception {
        createRunAndOpenRound1();
        ledger.append(rejection(1));
        // Signed over the head before the rejection: appending it would hide the rejection from the signature.
        LedgerHead stale = LedgerHead.of(ledger.entries().get(0).entryHash());
        SignedModel late = publish(1, stale);

        assertThatThrownBy(() -> ledger.append(Ledger.Draft.published(late)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("does not bind the current ledger head");
        assertThat(ledger.entries()).hasSize(2);
    }

    @Test
    void aCrashBetweenCheckpointAndLedgerEntry_leavesAPendingCheckpointOfTheOpenRound_thatVerifiesWithANote()
            throws Exception {
        createRunAndOpenRound1();
        ledger.append(rejection(1));
        assertThatThrownBy(() -> runs.completeRound(1, 1, 1, head -> {
            publish(1, head);
            throw new IOException("simulated crash after the checkpoint");
        })).hasMessageContaining("simulated crash");

        assertThat(Files.exists(DataDirectory.of(dir).checkpoint(1))).isTrue();
        assertThat(runs.openRound()).map(RoundRecord::round).contains(1L);
        assertThat(ledger.entries()).hasSize(2);
        LedgerVerifier.Report report = LedgerVerifier.verify(db, key.verifyingKey(), checkpoints());
        assertThat(report.ok()).as(report.problem()).isTrue();
        assertThat(report.notes()).anySatisfy(n -> assertThat(n)
                .contains("model-000001.pqfl is signed but not yet in the ledger").contains("covers entries 1-2"));

        // Without the open round it stands for, the same checkpoint shows a ledger cut short.
        try (var s = db.connection().createStatement()) {
            s.executeUpdate("DELETE FROM rounds WHERE round = 1");
        }
        LedgerVerifier.Report cut = LedgerVerifier.verify(db, key.verifyingKey(), checkpoints());
        assertThat(cut.ok()).isFalse();
        assertThat(cut.problem()).contains("checkpoint model-000001.pqfl holds the coordinator's signed model of round 1")
                .contains("the ledger was truncated or rewritten")
                .contains("signed over the ledger head at entry 2");
    }

    @Test
    void readSignature_readsTheCheckpointsStatementWithoutItsTensors() throws Exception {
        SignedModel signed = publish(0, LedgerHead.EMPTY);
        Path file = DataDirectory.of(dir).checkpoint(0);
        assertThat(ModelFiles.readSignature(file).statement()).isEqualTo(signed.statement());
        ModelFiles.write(dir.resolve("unsigned.pqfl"), tiny(0), null);
        assertThat(ModelFiles.readSignature(dir.resolve("unsigned.pqfl"))).isNull();
        PayloadDigest digest = ModelFiles.read(file).weights().digest();
        assertThat(digest).isEqualTo(tiny(0).digest());
    }
}
