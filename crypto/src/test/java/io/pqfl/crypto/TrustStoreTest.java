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
