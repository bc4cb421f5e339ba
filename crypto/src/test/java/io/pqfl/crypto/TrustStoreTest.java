package io.pqfl.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.crypto.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrustStoreTest {
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-29T12:00:00Z"), ZoneOffset.UTC);
    private static final ClientId ALICE = new ClientId("alice");
    private static final ClientId BOB = new ClientId("bob-01");

    @TempDir
    Path dir;

    @Test
    void add_thenFindByIdAndKeyId() throws Exception {
        TrustStore store = TrustStore.open(dir, CLOCK);
        VerifyingKey key = TestKeys.key(SignatureScheme.ML_DSA_65).verifyingKey();
        store.add(ALICE, key);

        assertThat(dir.resolve("alice.pub")).exists();
        assertThat(store.find(ALICE)).hasValueSatisfying(c -> {
            assertThat(c.key()).isEqualTo(key);
            assertThat(c.revoked()).isFalse();
        });
        assertThat(store.findByKeyId(key.keyId()).map(TrustStore.TrustedClient::clientId)).contains(ALICE);
        assertThat(store.find(BOB)).isEmpty();
    }

    @Test
    void filesDroppedIntoTheDirectory_appearOnReload() throws Exception {
        TrustStore store = TrustStore.open(dir, CLOCK);
        KeyPem.writeVerifyingKey(TestKeys.key(SignatureScheme.FALCON_512).verifyingKey(), dir.resolve("bob-01.pub"));
        assertThat(store.find(BOB)).isEmpty();
        store.reload();
        assertThat(store.find(BOB)).isPresent();
    }

    @Test
    void revoke_marksKeyRevoked_andSurvivesReopen() throws Exception {
        TrustStore store = TrustStore.open(dir, CLOCK);
        VerifyingKey key = TestKeys.key(SignatureScheme.ML_DSA_44).verifyingKey();
        store.add(ALICE, key);
        store.revoke(ALICE, "laptop stolen");

        assertThat(store.find(ALICE).orElseThrow().revoked()).isTrue();
        assertThat(Files.readString(dir.resolve(TrustStore.REVOCATION_FILE)))
                .contains(key.keyId().hex()).contains("alice").contains("2026-11-29T12:00:00Z").contains("laptop stolen");
        assertThat(TrustStore.open(dir, CLOCK).find(ALICE).orElseThrow().revoked()).isTrue();
        assertThat(store.revokedKeys()).containsExactly(key.keyId());
    }

    @Test
    void revokedClient_canBeReEnrolledWithANewKey() throws Exception {
        TrustStore store = TrustStore.open(dir, CLOCK);
        store.add(ALICE, TestKeys.key(SignatureScheme.ML_DSA_44).verifyingKey());
        store.revoke(ALICE, "rotated");
        Files.delete(dir.resolve("alice.pub"));
        store.reload();
        store.add(ALICE, TestKeys.otherKey(SignatureScheme.ML_DSA_44).verifyingKey());
        assertThat(store.find(ALICE).orElseThrow().revoked()).isFalse();
    }

    @Test
    void corruptFile_reloadThrowsNamingIt_andKeepsPreviousState() throws Exception {
        TrustStore store = TrustStore.open(dir, CLOCK);
        store.add(ALICE, TestKeys.key(SignatureScheme.ML_DSA_65).verifyingKey());
        Files.writeString(dir.resolve("mallory.pub"), "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");

        assertThatThrownBy(store::reload).isInstanceOf(TrustStoreException.class).hasMessageContaining("mallory.pub");
        assertThat(store.find(ALICE)).isPresent();
    }

    /**
     * Adding a client writes its file and updates what the store holds; it does not read the whole directory again.
     * (It did: a simulation adding 10,000 clients one by one would have parsed ~50 million key files, and did not start in 20 minutes.) A bad
     * file someone else dropped in is still reported by the next reload, and until then changes nothing.
     */
    @Test
    void add_costsOneFile_notAReReadOfTheDirectory() throws Exception {
        TrustStore store = TrustStore.open(dir, CLOCK);
        store.add(ALICE, TestKeys.key(SignatureScheme.ML_DSA_44).verifyingKey());
        Files.writeString(dir.resolve("mallory.pub"), "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");

        VerifyingKey bobs = TestKeys.otherKey(SignatureScheme.ML_DSA_44).verifyingKey();
        assertThat(store.add(BOB, bobs).key()).isEqualTo(bobs);
        assertThat(store.find(ALICE)).isPresent();
        assertThat(store.findByKeyId(bobs.keyId()).map(TrustStore.TrustedClient::clientId)).contains(BOB);
        assertThat(store.find(new ClientId("mallory"))).isEmpty();
        assertThatThrownBy(store::reload).isInstanceOf(TrustStoreException.class).hasMessageContaining("mallory.pub");
    }

    @Test
    void addAll_writesEveryFile_andEveryClientIsFound_revokedKeysStayRevoked() throws Exception {
        TrustStore store = TrustStore.open(dir, CLOCK);
        SigningKey revoked = Keys.generate(SignatureScheme.ML_DSA_44);
        Files.writeString(dir.resolve(TrustStore.REVOCATION_FILE), revoked.verifyingKey().keyId() + " old 2026-01-01T00:00:00Z lost\n");
        java.util.Map<ClientId, VerifyingKey> clients = new java.util.LinkedHashMap<>();
        for (int i = 0; i < 50; i++) {
            clients.put(new ClientId("c" + i), i == 7 ? revoked.verifyingKey() : Keys.generate(SignatureScheme.ML_DSA_44).verifyingKey());
        }
        assertThat(store.addAll(clients)).hasSize(50);
        for (var e : clients.entrySet()) {
            assertThat(dir.resolve(e.getKey() + ".pub")).exists();
            assertThat(store.find(e.getKey()).orElseThrow().key()).isEqualTo(e.getValue());
            assertThat(store.findByKeyId(e.getValue().keyId()).orElseThrow().clientId()).isEqualTo(e.getKey());
        }
        assertThat(store.find(new ClientId("c7")).orElseThrow().revoked()).isTrue();
        assertThat(store.find(new ClientId("c8")).orElseThrow().revoked()).isFalse();
        // What a reload reads from the files is what the store held.
        java.util.List<TrustStore.TrustedClient> held = store.clients();
        store.reload();
        assertThat(store.clients()).isEqualTo(held);
    }

    @Test
    void addAll_aClashAnywhere_isRefusedBeforeAnyFileIsWritten() throws Exception {
        TrustStore store = TrustStore.open(dir, CLOCK);
        VerifyingKey alices = TestKeys.key(SignatureScheme.ML_DSA_44).verifyingKey();
        store.add(ALICE, alices);
        VerifyingKey shared = TestKeys.otherKey(SignatureScheme.ML_DSA_44).verifyingKey();

        java.util.Map<ClientId, VerifyingKey> twice = new java.util.LinkedHashMap<>();
        twice.put(new ClientId("x1"), shared);
        twice.put(new ClientId("x2"), shared);
        assertThatThrownBy(() -> store.addAll(twice)).isInstanceOf(TrustStoreException.class)
                .hasMessageContaining("given for both x1 and x2");

        java.util.Map<ClientId, VerifyingKey> known = new java.util.LinkedHashMap<>();
        known.put(new ClientId("y1"), shared);
        known.put(ALICE, Keys.generate(SignatureScheme.ML_DSA_44).verifyingKey());
        assertThatThrownBy(() -> store.addAll(known)).isInstanceOf(TrustStoreException.class)
                .hasMessageContaining("client alice is already in");

        java.util.Map<ClientId, VerifyingKey> keyKnown = new java.util.LinkedHashMap<>();
        keyKnown.put(new ClientId("z1"), shared);
        keyKnown.put(new ClientId("z2"), alices);
        assertThatThrownBy(() -> store.addAll(keyKnown)).isInstanceOf(TrustStoreException.class)
                .hasMessageContaining("already belongs to client alice");

        try (var files = Files.list(dir)) {
            assertThat(files.map(f -> f.getFileName().toString())).containsExactly("alice.pub");
        }
        assertThat(store.clients()).hasSize(1);
    }

    @Test
    void sameKeyForTwoClients_isRefused() throws Exception {
        TrustStore store = TrustStore.open(dir, CLOCK);
        VerifyingKey key = TestKeys.key(SignatureScheme.ML_DSA_65).verifyingKey();
        store.add(ALICE, key);
        assertThatThrownBy(() -> store.add(BOB, key))
                .isInstanceOf(TrustStoreException.class).hasMessageContaining("already belongs to client alice");
        assertThat(dir.resolve("bob-01.pub")).doesNotExist();
    }

    @Test
    void clientId_rejectsPathTricks() {
        assertThatThrownBy(() -> new ClientId("../etc/passwd")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ClientId(".hidden")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ClientId("")).isInstanceOf(IllegalArgumentException.class);
    }
}
