package io.pqfl.coordinator;

import io.micrometer.core.instrument.Gauge;
import io.pqfl.coordinator.identity.Authenticator;
import io.pqfl.coordinator.identity.Challenges;
import io.pqfl.coordinator.identity.ClientDirectory;
import io.pqfl.coordinator.identity.Enrollment;
import io.pqfl.coordinator.identity.IdentityService;
import io.pqfl.coordinator.identity.Sessions;
import io.pqfl.coordinator.identity.TrustDirectoryWatcher;
import io.pqfl.coordinator.metrics.CoordinatorMetrics;
import io.pqfl.coordinator.round.FederationEngine;
import io.pqfl.coordinator.store.Database;
import io.pqfl.coordinator.store.EnrollmentTokens;
import io.pqfl.coordinator.store.Ledger;
import io.pqfl.coordinator.store.RunStore;
import io.pqfl.coordinator.verify.UpdateVerifier;
import io.pqfl.crypto.OwnerOnly;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.SigningKey;
import io.pqfl.crypto.TrustStore;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.crypto.pki.CertificateChecker;
import io.pqfl.crypto.pki.PkiException;
import java.io.IOException;
import java.security.SecureRandom;
import java.sql.SQLException;
import java.time.Clock;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A coordinator's parts, assembled: the store (database, ledger, runs, tokens), who its clients are (the
 * directory, sessions, enrollment: {@link IdentityService}), and its rounds ({@link FederationEngine}). This is
 * where they are built and wired, and where the transport and the tools find them; none of the parts hands
 * out the others.
 */
public final class Coordinator implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Coordinator.class);

    private final CoordinatorConfig config;
    private final VerifyingKey coordinatorKey;
    private final CoordinatorMetrics metrics;
    private final Database db;
    private final Ledger ledger;
    private final RunStore runs;
    private final EnrollmentTokens tokens;
    private final IdentityService identity;
    private final FederationEngine rounds;
    private final TrustDirectoryWatcher trustWatcher;
    private final io.pqfl.coordinator.dashboard.ClientActivity activity;
    private final ScheduledExecutorService watchTimer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "pqfl-trust-watch");
        t.setDaemon(true);
        return t;
    });

    private Coordinator(CoordinatorConfig config, SigningKey key, TrustStore trust, CoordinatorMetrics metrics, Clock clock,
                        SecureRandom random) throws SQLException, IOException {
        this.config = config;
        this.coordinatorKey = key.verifyingKey();
        this.metrics = metrics;
        OwnerOnly.createDirectories(config.dataDir());
        if (!OwnerOnly.isOwnerOnly(config.dataDir())) {
            log.warn("{} is readable by others than its owner: it holds the ledger, models and tokens; chmod 700 it",
                    config.dataDir());
        }
        switch (config.signingPolicy()) {
            case SIGNED -> { }
            case UNSIGNED_BASELINE -> log.warn("Federation {} runs the unsigned baseline: updates come without signatures, "
                    + "and none are checked. Research only", config.federationId());
        }
        ClientDirectory directory = ClientDirectory.open(trust, certificateChecker(config, clock),
                config.dataDirectory().certified(), clock);
        UpdateVerifier verifier = new UpdateVerifier(directory, config.acceptedSchemes(), config.maxUpdateBytes(),
                config.maxExamplesPerUpdate(), config.signingPolicy());
        this.db = Database.open(config.effectiveJdbcUrl());
        try {
            this.ledger = new Ledger(db, clock);
            this.runs = new RunStore(db, ledger, clock);
            this.tokens = new EnrollmentTokens(db, clock, random, coordinatorKey);
            this.rounds = new FederationEngine(config, Signer.create(key), runs, ledger, verifier,
                    // Sampling from a roster with a client CA, a certificate client not seen yet is eligible (its
                    // Hello checks the certificate); with pinned keys only, a client must be in the trust store.
                    config.roster().isEmpty() || config.clientCaCert() == null
                            ? c -> directory.find(c).filter(x -> !x.revoked()).isPresent()
                            : c -> directory.find(c).map(x -> !x.revoked()).orElse(true), metrics, clock, random);
            Challenges challenges = new Challenges(random, clock);
            Sessions sessions = new Sessions(random, clock, config.sessionTtl());
            this.identity = new IdentityService(
                    new Authenticator(config.federationId(), coordinatorKey.keyId(), directory, verifier, challenges, sessions),
                    new Enrollment(config.federationId(), directory, tokens, config.acceptedSchemes(), challenges), ledger,
                    metrics, () -> rounds.currentRound()); // not status(): it counts live clients
            this.activity = new io.pqfl.coordinator.dashboard.ClientActivity(clock);
            rounds.addListener(activity);
            identity.onSeen(c -> {
                rounds.clientSeen(c);
                activity.seen(c);
            });
            Gauge.builder("pqfl.sessions", sessions, Sessions::size).description("Live client sessions")
                    .register(metrics.registry());
            // A revoked client's next call is refused (REVOKED_KEY) by the session check; the rounds re-evaluate.
            this.trustWatcher = new TrustDirectoryWatcher(trust, rounds::poke);
        } catch (SQLException | IOException | RuntimeException e) {
            db.close();
            throw e;
        }
    }

    /** Opens (or resumes, on the same data directory) a coordinator; {@link #start()} starts its rounds. */
    public static Coordinator open(CoordinatorConfig config, SigningKey key, TrustStore trust, CoordinatorMetrics metrics,
                                   Clock clock, SecureRandom random) throws SQLException, IOException {
        return new Coordinator(Objects.requireNonNull(config, "config"), Objects.requireNonNull(key, "key"),
                Objects.requireNonNull(trust, "trust"), Objects.requireNonNull(metrics, "metrics"),
                Objects.requireNonNull(clock, "clock"), Objects.requireNonNull(random, "random"));
    }

    private static CertificateChecker certificateChecker(CoordinatorConfig config, Clock clock) throws IOException {
        if (config.clientCaCert() == null) {
            return null;
        }
        try {
            return CertificateChecker.load(config.clientCaCert(), config.clientCrl(), clock);
        } catch (PkiException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    /** Starts the rounds and the trust directory's watch. */
    public void start() {
        rounds.start();
        trustWatcher.start(watchTimer, config.trustReloadInterval());
    }

    public CoordinatorConfig config() {
        return config;
    }

    public CoordinatorMetrics metrics() {
        return metrics;
    }

    public VerifyingKey coordinatorKey() {
        return coordinatorKey;
    }

    public IdentityService identity() {
        return identity;
    }

    public FederationEngine rounds() {
        return rounds;
    }

    /** The audit ledger (tests and the operator's tools read it). */
    public Ledger ledger() {
        return ledger;
    }

    /** Each client's last status (the dashboard's). */
    public io.pqfl.coordinator.dashboard.ClientActivity activity() {
        return activity;
    }

    public RunStore runs() {
        return runs;
    }

    /** One-time enrollment tokens of this coordinator's database. */
    public EnrollmentTokens tokens() {
        return tokens;
    }

    @Override
    public void close() throws SQLException, InterruptedException {
        trustWatcher.close();
        watchTimer.shutdownNow();
        rounds.close();
        db.close();
    }
}
