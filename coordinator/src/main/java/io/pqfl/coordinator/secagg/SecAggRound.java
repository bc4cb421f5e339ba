package io.pqfl.coordinator.secagg;

import com.google.protobuf.ByteString;
import io.grpc.stub.StreamObserver;
import io.pqfl.coordinator.RefusedException;
import io.pqfl.coordinator.aggregate.AggregationException;
import io.pqfl.coordinator.verify.LogSafe;
import io.pqfl.crypto.ClientId;
import io.pqfl.crypto.PayloadDigest;
import io.pqfl.crypto.SignatureValue;
import io.pqfl.crypto.SignatureVerificationException;
import io.pqfl.crypto.Signer;
import io.pqfl.crypto.VerifyingKey;
import io.pqfl.crypto.secagg.FixedPoint;
import io.pqfl.crypto.secagg.Masks;
import io.pqfl.crypto.secagg.SecAggKeys;
import io.pqfl.crypto.secagg.Shamir;
import io.pqfl.proto.v1.SecAggAdvertisement;
import io.pqfl.proto.v1.SecAggAwait;
import io.pqfl.proto.v1.SecAggMaskedInput;
import io.pqfl.proto.v1.SecAggPhase;
import io.pqfl.proto.v1.SecAggReveal;
import io.pqfl.proto.v1.SecAggRevealedShare;
import io.pqfl.proto.v1.SecAggSealedShare;
import io.pqfl.proto.v1.SecAggSetup;
import io.pqfl.proto.v1.SecAggShares;
import io.pqfl.proto.v1.SecAggStep;
import io.pqfl.proto.v1.SecAggUnmaskRequest;
import io.pqfl.protocol.RejectReason;
import io.pqfl.protocol.RoundNonce;
import io.pqfl.protocol.SecAggStatement;
import io.pqfl.protocol.SecAggStatement.Part;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's side of one round of post-quantum SecAgg+ (docs/PRIVACY.md): it collects the sampled clients'
 * signed key advertisements, builds the neighbour graph, routes the sealed shares, sums the masked inputs in the ring
 * modulo 2^64, asks each surviving client for the shares it needs, and removes the masks. It only ever holds masked
 * inputs and their sum, and for each client either its self-mask seed (it delivered) or its pairwise seed (it dropped
 * after sharing), never both: a client revealed in the unmask request as a survivor is never also asked for as dropped.
 *
 * <p>Phases: ADVERTISE closes when every sampled client advertised or the phase timeout passed; SHARE when every
 * client of the graph shared or the timeout passed; MASKED_INPUT when the round closes (the round's deadline, or every
 * client still in delivered); UNMASK when every needed seed has its threshold of shares, or the timeout passed.
 * Clients that drop out of a phase are reported to {@code excuse} (the round machine stops waiting for them).
 * Thread-safe: every method synchronises on the round; callbacks run outside its lock.
 */
public final class SecAggRound {
    private static final Logger log = LoggerFactory.getLogger(SecAggRound.class);
    /** The sealed shares: self-mask share (32), pairwise-seed share (32), GCM tag (16). */
    public static final int SEALED_BYTES = 32 + 32 + 16;
    private static final long MAX_WAIT_MS = 30_000;

    /** Looks up a client's enrolled verifying key. */
    public interface Keys {
        VerifyingKey keyOf(ClientId client) throws RefusedException;
    }

    enum Phase { ADVERTISE, SHARE, MASKED_INPUT, UNMASK, DONE, ABORTED }

    private record Advert(ClientId client, VerifyingKey key, SecAggAdvertisement wire, PayloadDigest statementDigest) {
    }

    private record Waiter(ClientId client, SecAggPhase after, StreamObserver<SecAggStep> observer, ScheduledFuture<?> expiry) {
    }

    private final String federationId;
    private final long round;
    private final RoundNonce nonce;
    private final byte[] context;
    private final Set<ClientId> sampled;
    private final SecAggSettings settings;
    private final FixedPoint encoding;
    private final ClientNoise noise;
    private final int words;
    private final Signer coordinator;
    private final Keys keys;
    private final Consumer<Set<ClientId>> excuse;
    private final ScheduledExecutorService timer;

    private Phase phase = Phase.ADVERTISE;
    private String abortReason;
    private final Map<ClientId, Advert> adverts = new TreeMap<>(Comparator.comparing(ClientId::value));
    private Map<ClientId, List<ClientId>> graph = Map.of();
    private int threshold;
    private final Map<ClientId, List<SecAggSealedShare>> sharesFrom = new HashMap<>();
    private Set<ClientId> u1 = Set.of();
    private final long[] sum;
    private final Map<ClientId, PayloadDigest> masked = new HashMap<>();
    private Set<ClientId> u2 = Set.of();
    private final Map<ClientId, Map<Integer, byte[]>> selfShares = new HashMap<>();
    private final Map<ClientId, Map<Integer, byte[]>> pairShares = new HashMap<>();
    private final Set<ClientId> revealed = new HashSet<>();
    /** Clients whose masked input is being checked: one at a time each, so one client cannot pile up 8 MiB copies. */
    private final Set<ClientId> checking = new HashSet<>();
    private final Map<ClientId, SecAggStep> unmaskRequests = new HashMap<>();
    private final Map<ClientId, SecAggStep> setups = new HashMap<>();
    private final List<Waiter> waiters = new ArrayList<>();
    private final CompletableFuture<long[]> unmasked = new CompletableFuture<>();
    private ScheduledFuture<?> phaseTimer;
    private long coordinatorNanos;

    /**
     * Distributed differential privacy's part in a round: the L2 norm each client clips its update's difference to and
     * the std of the Gaussian noise each adds per coordinate; {@link #NONE} without DP.
     */
    public record ClientNoise(double clip, double std) {
        public static final ClientNoise NONE = new ClientNoise(0, 0);
    }

    public SecAggRound(String federationId, long round, RoundNonce nonce, List<ClientId> sampled, SecAggSettings settings,
                       FixedPoint encoding, ClientNoise noise, int parameters, Signer coordinator, Keys keys,
                       Consumer<Set<ClientId>> excuse, ScheduledExecutorService timer) {
        this.federationId = federationId;
        this.round = round;
        this.nonce = nonce;
        this.context = SecAggStatement.context(federationId, round, nonce);
        this.sampled = new LinkedHashSet<>(sampled);
        this.settings = settings;
        this.encoding = encoding;
        this.noise = noise;
        this.words = parameters + 1;
        this.sum = new long[words];
        this.coordinator = coordinator;
        this.keys = keys;
        this.excuse = excuse;
        this.timer = timer;
        this.phaseTimer = timer.schedule(() -> closeAdvertise("the advertisement phase timed out"),
                settings.phaseTimeout().toMillis(), TimeUnit.MILLISECONDS);
    }

    public long round() {
        return round;
    }

    public FixedPoint encoding() {
        return encoding;
    }

    /** The masked inputs accepted so far. */
    public synchronized int acceptedCount() {
        return masked.size();
    }

    /** CPU time the coordinator spent in this round's protocol (verifying, routing, unmasking), in nanoseconds. */
    public synchronized long coordinatorNanos() {
        return coordinatorNanos;
    }

    // ---------------------------------------------------------------- phase 1: advertise

    public void advertise(ClientId session, SecAggAdvertisement ad) throws RefusedException {
        long t0 = System.nanoTime();
        ClientId client = claimed(session, ad.getClientId());
        checkAddress(ad.getFederationId(), ad.getRound(), ad.getNonce().toByteArray());
        VerifyingKey key = keys.keyOf(client);
        checkKey(key, ad.getKeyId(), ad.getScheme());
        if (ad.getSelfMaskCommitment().size() != 32) {
            throw invalid("an advertisement carries a 32-byte self-mask commitment, not " + ad.getSelfMaskCommitment().size());
        }
        try {
            SecAggKeys.checkPublicKeys(ad.getKemPublicKey().toByteArray(), ad.getX25519PublicKey().toByteArray());
            SecAggKeys.checkPublicKeys(ad.getSealKemPublicKey().toByteArray(), ad.getSealX25519PublicKey().toByteArray());
        } catch (IllegalArgumentException e) {
            throw invalid("client " + client + "'s advertised keys are unusable: " + e.getMessage());
        }
        SecAggStatement s = statement(client, Part.ADVERTISE, SecAggStatement.advertiseBody(ad.getKemPublicKey().toByteArray(),
                ad.getX25519PublicKey().toByteArray(), ad.getSealKemPublicKey().toByteArray(),
                ad.getSealX25519PublicKey().toByteArray(), ad.getSelfMaskCommitment().toByteArray()), key);
        verify(s, key, ad.getSignature().toByteArray());
        boolean close;
        synchronized (this) {
            if (!sampled.contains(client)) {
                throw new RefusedException(RejectReason.NOT_SAMPLED, "client " + client + " was not sampled for round " + round);
            }
            if (phase != Phase.ADVERTISE) {
                throw phaseRefusal("advertise keys", Phase.ADVERTISE);
            }
            if (adverts.containsKey(client)) {
                throw new RefusedException(RejectReason.DUPLICATE, "client " + client + " already advertised keys for round " + round);
            }
            SecAggAdvertisement forwarded = ad.toBuilder().setPublicKey(ByteString.copyFrom(key.encoded())).build();
            adverts.put(client, new Advert(client, key, forwarded, PayloadDigest.of(s.encode())));
            close = adverts.size() == sampled.size();
            coordinatorNanos += System.nanoTime() - t0;
        }
        if (close) {
            closeAdvertise(null);
        }
    }

    private void closeAdvertise(String why) {
        Set<ClientId> dropped;
        List<Waiter> ready;
        synchronized (this) {
            if (phase != Phase.ADVERTISE) {
                return;
            }
            cancelTimer();
            dropped = new HashSet<>(sampled);
            dropped.removeAll(adverts.keySet());
            List<ClientId> live = List.copyOf(adverts.keySet());
            int k = settings.degreeFor(live.size());
            Map<ClientId, List<ClientId>> g = NeighbourGraph.build(live, k, nonce.bytes());
            int minDegree = g.values().stream().mapToInt(List::size).min().orElse(0);
            int maxDegree = g.values().stream().mapToInt(List::size).max().orElse(0);
            // More than half of every client's neighbours must be needed (else a coordinator could ask one half for
            // self-mask shares and the other for pairwise-seed shares); the threshold follows the graph's real degrees.
            threshold = Math.max(settings.thresholdFor(maxDegree), maxDegree / 2 + 1);
            if (live.size() < 3 || minDegree < 2 || threshold > minDegree) {
                abort(live.size() + " of " + sampled.size() + " sampled clients advertised keys (" + (why == null ? "all" : why)
                        + "); secure aggregation needs at least 3, each with at least the threshold " + threshold
                        + " of neighbours (fewest: " + minDegree + ")");
                dropped = new HashSet<>(sampled);
            } else {
                int degree = maxDegree;
                graph = g;
                phase = Phase.SHARE;
                phaseTimer = timer.schedule(() -> closeShare("the share phase timed out"), settings.phaseTimeout().toMillis(),
                        TimeUnit.MILLISECONDS);
                log.info("Round {} secure aggregation: {} of {} sampled clients advertised keys; {} neighbours each, threshold {}",
                        round, live.size(), sampled.size(), degree, threshold);
            }
            ready = takeReadyWaiters();
        }
        finish(dropped, ready);
    }

    // ---------------------------------------------------------------- phase 2: share

    public void share(ClientId session, SecAggShares msg) throws RefusedException {
        long t0 = System.nanoTime();
        ClientId client = claimed(session, msg.getClientId());
        checkAddress(msg.getFederationId(), msg.getRound(), msg.getNonce().toByteArray());
        VerifyingKey key = keys.keyOf(client);
        checkKey(key, msg.getKeyId(), msg.getScheme());
        List<ClientId> neighbours;
        synchronized (this) {
            if (phase != Phase.SHARE) {
                throw phaseRefusal("share keys", Phase.SHARE);
            }
            neighbours = graph.get(client);
            if (neighbours == null) {
                throw new RefusedException(RejectReason.NOT_SAMPLED, "client " + client
                        + " is not in round " + round + "'s secure aggregation (it did not advertise keys in time)");
            }
            if (sharesFrom.containsKey(client)) {
                throw new RefusedException(RejectReason.DUPLICATE, "client " + client + " already shared keys for round " + round);
            }
        }
        if (msg.getSharesCount() != neighbours.size()) {
            throw invalid("client " + client + " sent " + msg.getSharesCount() + " shares; it has " + neighbours.size() + " neighbours");
        }
        for (int i = 0; i < neighbours.size(); i++) {
            SecAggSealedShare sh = msg.getShares(i);
            if (!sh.getFrom().equals(client.value()) || !sh.getTo().equals(neighbours.get(i).value())) {
                throw invalid("share " + i + " of client " + client + " is addressed from '" + LogSafe.text(sh.getFrom(), 64)
                        + "' to '" + LogSafe.text(sh.getTo(), 64) + "', expected " + client + " to " + neighbours.get(i));
            }
            if (sh.getIndex() != i + 1) {
                throw invalid("share " + i + " of client " + client + " has index " + sh.getIndex() + ", expected " + (i + 1));
            }
            if (sh.getKemCiphertext().size() != SecAggKeys.KEM_CIPHERTEXT_BYTES
                    || sh.getSealCiphertext().size() != SecAggKeys.KEM_CIPHERTEXT_BYTES || sh.getSealed().size() != SEALED_BYTES
                    || sh.getSelfShareDigest().size() != 32 || sh.getPairShareDigest().size() != 32) {
                throw invalid("share " + i + " of client " + client + " has ciphertexts of " + sh.getKemCiphertext().size()
                        + " and " + sh.getSealCiphertext().size() + " bytes, " + sh.getSealed().size()
                        + " sealed bytes and digests of " + sh.getSelfShareDigest().size() + " and "
                        + sh.getPairShareDigest().size() + " bytes, expected " + SecAggKeys.KEM_CIPHERTEXT_BYTES + ", "
                        + SecAggKeys.KEM_CIPHERTEXT_BYTES + ", " + SEALED_BYTES + ", 32 and 32");
            }
            SecAggStatement s = statement(client, Part.SHARE, SecAggStatement.shareBody(neighbours.get(i), sh.getIndex(),
                    sh.getKemCiphertext().toByteArray(), sh.getSealCiphertext().toByteArray(), sh.getSealed().toByteArray(),
                    sh.getSelfShareDigest().toByteArray(), sh.getPairShareDigest().toByteArray()), key);
            verify(s, key, sh.getSignature().toByteArray());
        }
        boolean close;
        synchronized (this) {
            if (phase != Phase.SHARE) {
                throw phaseRefusal("share keys", Phase.SHARE);
            }
            if (sharesFrom.putIfAbsent(client, List.copyOf(msg.getSharesList())) != null) {
                throw new RefusedException(RejectReason.DUPLICATE, "client " + client + " already shared keys for round " + round);
            }
            close = sharesFrom.size() == graph.size();
            coordinatorNanos += System.nanoTime() - t0;
        }
        if (close) {
            closeShare(null);
        }
    }

    private void closeShare(String why) {
        Set<ClientId> dropped = new HashSet<>();
        List<Waiter> ready;
        synchronized (this) {
            if (phase != Phase.SHARE) {
                return;
            }
            cancelTimer();
            Set<ClientId> in = new HashSet<>(sharesFrom.keySet());
            // A client whose shares reached fewer than `threshold` clients still in cannot be unmasked: leave it out, and
            // again for the neighbours that leaves short.
            boolean changed = true;
            while (changed) {
                changed = false;
                for (Iterator<ClientId> it = in.iterator(); it.hasNext(); ) {
                    ClientId c = it.next();
                    long held = graph.get(c).stream().filter(in::contains).count();
                    if (held < threshold) {
                        it.remove();
                        changed = true;
                    }
                }
            }
            u1 = Set.copyOf(in);
            dropped.addAll(graph.keySet());
            dropped.removeAll(u1);
            if (u1.size() < 2) {
                abort(u1.size() + " clients shared keys with enough neighbours (" + (why == null ? "all answered" : why)
                        + "); secure aggregation cannot go on");
                dropped.addAll(graph.keySet());
            } else {
                phase = Phase.MASKED_INPUT;
                log.info("Round {} secure aggregation: {} of {} clients shared keys ({} left out)", round, u1.size(),
                        graph.size(), dropped.size());
            }
            ready = takeReadyWaiters();
        }
        finish(dropped, ready);
    }

    // ---------------------------------------------------------------- phase 3: masked input

    /** A masked input checked against the protocol and its signature: ready to be added, if the round still wants it. */
    public record Masked(ClientId client, long[] vector, PayloadDigest digest, SecAggStatement statement,
                         SignatureValue signature, VerifyingKey key) {
    }

    /** Checks a masked input (outside every lock but this round's): phase, membership, size, signature. */
    public Masked check(ClientId session, SecAggMaskedInput msg) throws RefusedException {
        long t0 = System.nanoTime();
        ClientId client = claimed(session, msg.getClientId());
        checkAddress(msg.getFederationId(), msg.getRound(), msg.getNonce().toByteArray());
        VerifyingKey key = keys.keyOf(client);
        checkKey(key, msg.getKeyId(), msg.getScheme());
        synchronized (this) {
            if (phase != Phase.MASKED_INPUT) {
                throw phaseRefusal("submit a masked input", Phase.MASKED_INPUT);
            }
            if (!checking.add(client)) {
                throw new RefusedException(RejectReason.DUPLICATE, "client " + client + " already has a masked input being checked");
            }
            if (!u1.contains(client)) {
                throw new RefusedException(RejectReason.NOT_SAMPLED, "client " + client + " is not among the clients that shared "
                        + "keys in round " + round + "; its masked input could not be unmasked");
            }
            if (masked.containsKey(client)) {
                throw new RefusedException(RejectReason.DUPLICATE, "client " + client + " already submitted its masked input for round " + round);
            }
        }
        try {
            if (msg.getMasked().size() != (long) words * 8) {
                throw invalid("the masked input has " + msg.getMasked().size() + " bytes; this model's is " + (long) words * 8
                        + " (" + words + " 64-bit words)");
            }
            byte[] bytes = msg.getMasked().toByteArray();
            PayloadDigest digest = PayloadDigest.of(bytes);
            SecAggStatement s = statement(client, Part.MASKED_INPUT, SecAggStatement.maskedInputBody(words, digest), key);
            SignatureValue sig = verify(s, key, msg.getSignature().toByteArray());
            long[] vector = Masks.fromBytes(bytes);
            return new Masked(client, vector, digest, s, sig, key);
        } finally {
            synchronized (this) {
                checking.remove(client);
                coordinatorNanos += System.nanoTime() - t0;
            }
        }
    }

    /** Adds a checked masked input to the sum (the round machine admitted it). */
    public synchronized void add(Masked m) throws RefusedException {
        if (phase != Phase.MASKED_INPUT) {
            throw phaseRefusal("submit a masked input", Phase.MASKED_INPUT);
        }
        if (masked.putIfAbsent(m.client(), m.digest()) != null) {
            throw new RefusedException(RejectReason.DUPLICATE, "client " + m.client() + " already submitted its masked input");
        }
        long[] v = m.vector();
        for (int i = 0; i < sum.length; i++) {
            sum[i] += v[i];
        }
    }

    // ---------------------------------------------------------------- phase 4: unmask

    /**
     * On the round's closing thread: starts the unmask phase with the clients whose masked inputs were added, waits (up
     * to the phase timeout) for their shares, and returns the unmasked sum.
     *
     * @throws AggregationException when the sum cannot be unmasked (too few shares, a share that does not match its
     *     commitment), naming why
     */
    public long[] unmask() throws InterruptedException {
        List<Waiter> ready;
        synchronized (this) {
            if (phase == Phase.ABORTED) {
                throw new AggregationException("SECURE_AGGREGATION: " + abortReason);
            }
            if (phase != Phase.MASKED_INPUT) {
                throw new AggregationException("SECURE_AGGREGATION: round " + round + " is in phase " + phase + ", not MASKED_INPUT");
            }
            u2 = Set.copyOf(masked.keySet());
            phase = Phase.UNMASK;
            for (ClientId c : u2) {
                if (graph.get(c).stream().filter(u2::contains).count() < threshold) {
                    abort("client " + c + " has fewer than " + threshold + " neighbours whose masked inputs arrived; its "
                            + "self mask cannot be removed");
                    break;
                }
            }
            ready = takeReadyWaiters();
            log.info("Round {} secure aggregation: {} masked inputs of {} clients that shared keys; asking for shares", round,
                    u2.size(), u1.size());
        }
        finish(Set.of(), ready);
        try {
            return unmasked.get(settings.phaseTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            String why;
            synchronized (this) {
                if (unmasked.isDone()) { // reconstruction finished (or failed) as the wait ran out
                    return unmaskedNow();
                }
                why = "the unmask phase timed out with " + revealed.size() + " of " + u2.size() + " clients' shares: "
                        + missing();
                abort(why);
                ready = takeReadyWaiters();
            }
            finish(Set.of(), ready);
            throw new AggregationException("SECURE_AGGREGATION: " + why);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof AggregationException a ? a
                    : new AggregationException("SECURE_AGGREGATION: " + e.getCause().getMessage());
        }
    }

    private long[] unmaskedNow() {
        try {
            return unmasked.getNow(null);
        } catch (java.util.concurrent.CompletionException e) {
            throw e.getCause() instanceof AggregationException a ? a
                    : new AggregationException("SECURE_AGGREGATION: " + e.getCause().getMessage());
        }
    }

    public void reveal(ClientId session, SecAggReveal msg) throws RefusedException {
        long t0 = System.nanoTime();
        ClientId client = claimed(session, msg.getClientId());
        checkAddress(msg.getFederationId(), msg.getRound(), msg.getNonce().toByteArray());
        VerifyingKey key = keys.keyOf(client);
        checkKey(key, msg.getKeyId(), msg.getScheme());
        List<SecAggStatement.Revealed> shares = new ArrayList<>();
        synchronized (this) {
            if (phase != Phase.UNMASK) {
                throw phaseRefusal("reveal shares", Phase.UNMASK);
            }
            if (!u2.contains(client)) {
                throw new RefusedException(RejectReason.NOT_SAMPLED, "client " + client + "'s masked input is not in round "
                        + round + "'s sum; it has nothing to reveal");
            }
            if (revealed.contains(client)) {
                throw new RefusedException(RejectReason.DUPLICATE, "client " + client + " already revealed its shares");
            }
            Set<String> expected = new HashSet<>();
            for (ClientId n : graph.get(client)) {
                if (u2.contains(n)) {
                    expected.add(n.value() + "/self");
                } else if (u1.contains(n)) {
                    expected.add(n.value() + "/pair");
                }
            }
            if (msg.getSharesCount() > expected.size()) {
                throw invalid("client " + client + " revealed " + msg.getSharesCount() + " shares; the unmask request asked for "
                        + expected.size());
            }
            // Fewer is allowed: a client does not reveal a share whose owner sealed it badly.
            for (SecAggRevealedShare r : msg.getSharesList()) {
                String k = r.getOwner() + (r.getSelfMask() ? "/self" : "/pair");
                if (!expected.remove(k)) {
                    throw invalid("client " + client + " revealed a " + (r.getSelfMask() ? "self-mask" : "pairwise-seed")
                            + " share of '" + LogSafe.text(r.getOwner(), 64) + "', which the unmask request did not ask for");
                }
                ClientId owner = new ClientId(r.getOwner());
                int index = graph.get(owner).indexOf(client) + 1;
                if (r.getIndex() != index || r.getShare().size() != 32) {
                    throw invalid("client " + client + "'s share of " + owner + " has index " + r.getIndex() + " and "
                            + r.getShare().size() + " bytes, expected index " + index + " and 32 bytes");
                }
                SecAggSealedShare sealed = shareFrom(owner, client);
                byte[] signed = (r.getSelfMask() ? sealed.getSelfShareDigest() : sealed.getPairShareDigest()).toByteArray();
                if (!MessageDigest.isEqual(SecAggKeys.shareDigest(context, owner.value(), index, r.getSelfMask(),
                        r.getShare().toByteArray()), signed)) {
                    throw invalid("client " + client + " revealed a " + (r.getSelfMask() ? "self-mask" : "pairwise-seed")
                            + " share of " + owner + " that is not the one " + owner + " signed for it");
                }
                shares.add(new SecAggStatement.Revealed(owner, r.getSelfMask(), r.getIndex(), r.getShare().toByteArray()));
            }
        }
        verify(statement(client, Part.REVEAL, SecAggStatement.revealBody(shares), key), key, msg.getSignature().toByteArray());
        boolean complete;
        synchronized (this) {
            if (phase != Phase.UNMASK || !revealed.add(client)) {
                throw phaseRefusal("reveal shares", Phase.UNMASK);
            }
            for (SecAggStatement.Revealed r : shares) {
                (r.selfMask() ? selfShares : pairShares).computeIfAbsent(r.owner(), o -> new TreeMap<>()).put(r.index(), r.share());
            }
            coordinatorNanos += System.nanoTime() - t0;
            complete = missing().isEmpty() || revealed.size() == u2.size();
        }
        if (complete) {
            reconstruct();
        }
    }

    /** Under the lock: the seeds that still lack their threshold of shares, or the empty string. */
    private String missing() {
        List<String> out = new ArrayList<>();
        for (ClientId c : u2.stream().sorted(Comparator.comparing(ClientId::value)).toList()) {
            int have = selfShares.getOrDefault(c, Map.of()).size();
            if (have < threshold) {
                out.add(c + "'s self mask (" + have + " of " + threshold + ")");
            }
        }
        for (ClientId d : droppedWithSurvivingNeighbours()) {
            int have = pairShares.getOrDefault(d, Map.of()).size();
            if (have < threshold) {
                out.add(d + "'s pairwise seed (" + have + " of " + threshold + ")");
            }
        }
        return String.join(", ", out);
    }

    private List<ClientId> droppedWithSurvivingNeighbours() {
        List<ClientId> out = new ArrayList<>();
        for (ClientId d : u1) {
            if (!u2.contains(d) && graph.get(d).stream().anyMatch(u2::contains)) {
                out.add(d);
            }
        }
        out.sort(Comparator.comparing(ClientId::value));
        return out;
    }

    private void reconstruct() {
        long t0 = System.nanoTime();
        List<Waiter> ready;
        synchronized (this) {
            if (phase != Phase.UNMASK) {
                return;
            }
            try {
                String short_ = missing();
                if (!short_.isEmpty()) {
                    throw new AggregationException("SECURE_AGGREGATION: every surviving client answered but shares are missing: " + short_);
                }
                long[] out = sum.clone();
                for (ClientId c : u2) {
                    byte[] seed = Shamir.combine(first(selfShares.get(c)));
                    byte[] commitment = adverts.get(c).wire().getSelfMaskCommitment().toByteArray();
                    if (!MessageDigest.isEqual(SecAggKeys.commitSelfMask(context, c.value(), seed), commitment)) {
                        throw new AggregationException("SECURE_AGGREGATION: the shares of " + c + "'s self mask do not open its "
                                + "commitment: " + c + " sealed inconsistent shares (every revealed share matched the digest "
                                + c + " signed)");
                    }
                    Masks.apply(out, SecAggKeys.selfMaskKey(context, c.value(), seed), -1);
                }
                for (ClientId d : droppedWithSurvivingNeighbours()) {
                    SecAggKeys k = SecAggKeys.fromSeed(Shamir.combine(first(pairShares.get(d))));
                    SecAggAdvertisement ad = adverts.get(d).wire();
                    if (!k.matches(ad.getKemPublicKey().toByteArray(), ad.getX25519PublicKey().toByteArray())) {
                        throw new AggregationException("SECURE_AGGREGATION: the shares of " + d + "'s pairwise seed do not give "
                                + "its advertised keys: " + d + " sealed inconsistent shares");
                    }
                    for (ClientId u : graph.get(d)) {
                        if (!u2.contains(u)) {
                            continue;
                        }
                        SecAggAdvertisement uAd = adverts.get(u).wire();
                        byte[] ctFromD = shareFrom(d, u).getKemCiphertext().toByteArray();
                        if (!MessageDigest.isEqual(k.encapsulateTo(context, d.value(), u.value(),
                                uAd.getKemPublicKey().toByteArray()).ciphertext(), ctFromD)) {
                            throw new AggregationException("SECURE_AGGREGATION: " + d + "'s ciphertext to " + u + " was not made "
                                    + "from its pairwise seed: " + d + " broke the protocol, its mask with " + u
                                    + " cannot be removed");
                        }
                        byte[] ctFromU = shareFrom(u, d).getKemCiphertext().toByteArray();
                        byte[] seed = k.pairSeed(context, d.value(), u.value(), uAd.getKemPublicKey().toByteArray(),
                                uAd.getX25519PublicKey().toByteArray(), ctFromU);
                        Masks.apply(out, seed, -Masks.pairSign(u.value(), d.value()));
                    }
                }
                phase = Phase.DONE;
                coordinatorNanos += System.nanoTime() - t0;
                log.info("Round {} secure aggregation: sum of {} masked inputs unmasked ({} self masks, {} dropped clients' "
                        + "pairwise masks removed)", round, u2.size(), u2.size(), droppedWithSurvivingNeighbours().size());
                unmasked.complete(out);
            } catch (AggregationException e) {
                abort(e.getMessage());
                unmasked.completeExceptionally(e);
            }
            ready = takeReadyWaiters();
        }
        finish(Set.of(), ready);
    }

    private SecAggSealedShare shareFrom(ClientId from, ClientId to) {
        for (SecAggSealedShare s : sharesFrom.get(from)) {
            if (s.getTo().equals(to.value())) {
                return s;
            }
        }
        throw new IllegalStateException(from + " sent no share to " + to);
    }

    private Map<Integer, byte[]> first(Map<Integer, byte[]> shares) {
        Map<Integer, byte[]> out = new TreeMap<>();
        for (var e : shares.entrySet()) {
            if (out.size() == threshold) {
                break;
            }
            out.put(e.getKey(), e.getValue());
        }
        return out;
    }

    // ---------------------------------------------------------------- waiting

    /** Answers at once when the phase after {@code after} has closed, else when it closes or the wait runs out. */
    public void await(ClientId client, SecAggAwait request, StreamObserver<SecAggStep> observer) {
        SecAggStep now;
        Waiter older = null;
        synchronized (this) {
            now = stepFor(client, request.getAfter());
            if (now == null) {
                long waitMs = Math.max(1, Math.min(MAX_WAIT_MS, request.getWaitMs()));
                Waiter[] self = new Waiter[1];
                ScheduledFuture<?> expiry = timer.schedule(() -> {
                    boolean mine;
                    synchronized (this) {
                        mine = waiters.remove(self[0]);
                    }
                    if (mine) {
                        respond(self[0].observer(), SecAggStep.newBuilder().setPending(true).build());
                    }
                }, waitMs, TimeUnit.MILLISECONDS);
                self[0] = new Waiter(client, request.getAfter(), observer, expiry);
                // One waiter per client and phase: a newer wait answers the older one "pending" (no pile-up).
                for (Iterator<Waiter> it = waiters.iterator(); it.hasNext(); ) {
                    Waiter w = it.next();
                    if (w.client().equals(client) && w.after() == request.getAfter()) {
                        it.remove();
                        w.expiry().cancel(false);
                        older = w;
                    }
                }
                waiters.add(self[0]);
            }
        }
        if (older != null) {
            respond(older.observer(), SecAggStep.newBuilder().setPending(true).build());
        }
        if (now != null) {
            respond(observer, now);
        }
    }

    /** Under the lock: what a client that finished {@code after} gets now, or null when it must wait. */
    private SecAggStep stepFor(ClientId client, SecAggPhase after) {
        if (phase == Phase.ABORTED) {
            return excluded("round " + round + "'s secure aggregation stopped: " + abortReason);
        }
        switch (after) {
            case ADVERTISE -> {
                if (phase == Phase.ADVERTISE) {
                    return null;
                }
                if (!graph.containsKey(client)) {
                    return excluded("client " + client + " did not advertise keys before round " + round + "'s share phase");
                }
                return setups.computeIfAbsent(client, this::setup);
            }
            case SHARE -> {
                if (phase.ordinal() <= Phase.SHARE.ordinal()) {
                    return null;
                }
                if (!u1.contains(client)) {
                    return excluded("client " + client + " is left out of round " + round + "'s secure aggregation: its shares "
                            + "did not arrive in time, or too few of its neighbours shared keys");
                }
                SecAggStep.Builder b = SecAggStep.newBuilder();
                for (ClientId n : graph.get(client)) {
                    if (u1.contains(n)) {
                        b.addInbox(shareFrom(n, client));
                    }
                }
                return b.build();
            }
            case MASKED_INPUT -> {
                if (phase.ordinal() <= Phase.MASKED_INPUT.ordinal()) {
                    return null;
                }
                if (!u2.contains(client)) {
                    return excluded("client " + client + "'s masked input is not in round " + round + "'s sum");
                }
                List<ClientId> survivors = new ArrayList<>();
                List<ClientId> dropped = new ArrayList<>();
                for (ClientId n : graph.get(client)) {
                    if (u2.contains(n)) {
                        survivors.add(n);
                    } else if (u1.contains(n)) {
                        dropped.add(n);
                    }
                }
                SecAggStep cached = unmaskRequests.get(client);
                if (cached != null) {
                    return cached;
                }
                SecAggStatement s = coordinatorStatement(client, Part.UNMASK_REQUEST,
                        SecAggStatement.unmaskRequestBody(survivors, dropped));
                SecAggStep step = SecAggStep.newBuilder().setUnmask(SecAggUnmaskRequest.newBuilder()
                        .addAllSurvivors(survivors.stream().map(ClientId::value).toList())
                        .addAllDropped(dropped.stream().map(ClientId::value).toList())
                        .setCoordinatorSignature(ByteString.copyFrom(s.sign(coordinator).bytes()))).build();
                unmaskRequests.put(client, step);
                return step;
            }
            default -> {
                return excluded("nothing follows phase " + after);
            }
        }
    }

    private SecAggStep setup(ClientId client) {
        List<SecAggStatement.Neighbour> listed = new ArrayList<>();
        SecAggSetup.Builder b = SecAggSetup.newBuilder().setThreshold(threshold).setClip(encoding.clip())
                .setFractionBits(encoding.fractionBits()).setWeightCap(encoding.weightCap()).setDpClip(noise.clip())
                .setDpNoiseStd(noise.std());
        for (ClientId n : graph.get(client)) {
            Advert a = adverts.get(n);
            listed.add(new SecAggStatement.Neighbour(n, a.key().keyId(), a.statementDigest()));
            b.addNeighbours(a.wire());
        }
        SecAggStatement s = coordinatorStatement(client, Part.SETUP, SecAggStatement.setupBody(threshold, encoding.clip(),
                encoding.fractionBits(), encoding.weightCap(), noise.clip(), noise.std(), listed));
        b.setCoordinatorSignature(ByteString.copyFrom(s.sign(coordinator).bytes()));
        return SecAggStep.newBuilder().setSetup(b).build();
    }

    private static SecAggStep excluded(String why) {
        return SecAggStep.newBuilder().setExcluded(why).build();
    }

    /** Under the lock: removes and returns the waiters whose answer is ready. */
    private List<Waiter> takeReadyWaiters() {
        List<Waiter> ready = new ArrayList<>();
        for (Iterator<Waiter> it = waiters.iterator(); it.hasNext(); ) {
            Waiter w = it.next();
            if (stepFor(w.client(), w.after()) != null) {
                it.remove();
                ready.add(w);
            }
        }
        return ready;
    }

    /** Outside the lock: tells the machine who dropped, and answers the ready waiters. */
    private void finish(Set<ClientId> dropped, List<Waiter> ready) {
        if (!dropped.isEmpty()) {
            excuse.accept(Set.copyOf(dropped));
        }
        for (Waiter w : ready) {
            w.expiry().cancel(false);
            SecAggStep step;
            synchronized (this) {
                step = stepFor(w.client(), w.after());
            }
            respond(w.observer(), step);
        }
    }

    private static void respond(StreamObserver<SecAggStep> observer, SecAggStep step) {
        try {
            observer.onNext(step);
            observer.onCompleted();
        } catch (RuntimeException e) {
            log.debug("A secure-aggregation waiter went away: {}", e.toString());
        }
    }

    /** Ends the round's protocol (the round closed or was skipped): waiters are told, nothing more is accepted. */
    public void close(String why) {
        List<Waiter> ready;
        synchronized (this) {
            if (phase != Phase.DONE && phase != Phase.ABORTED) {
                abort(why);
            }
            ready = new ArrayList<>(waiters);
            waiters.clear();
        }
        for (Waiter w : ready) {
            w.expiry().cancel(false);
            SecAggStep step;
            synchronized (this) {
                step = phase == Phase.DONE ? excluded("round " + round + " is closed") : stepFor(w.client(), w.after());
            }
            respond(w.observer(), step);
        }
    }

    /** Under the lock. */
    private void abort(String why) {
        phase = Phase.ABORTED;
        abortReason = why;
        cancelTimer();
        unmasked.completeExceptionally(new AggregationException("SECURE_AGGREGATION: " + why));
        log.warn("Round {} secure aggregation stopped: {}", round, why);
    }

    private void cancelTimer() {
        if (phaseTimer != null) {
            phaseTimer.cancel(false);
            phaseTimer = null;
        }
    }

    // ---------------------------------------------------------------- checks

    /** The session's client, when the message names it (compared as text first: a claimed id is never parsed). */
    private static ClientId claimed(ClientId session, String claimed) throws RefusedException {
        if (!session.value().equals(claimed)) {
            throw new RefusedException(RejectReason.SESSION_MISMATCH, "the message names client '" + LogSafe.text(claimed, 64)
                    + "', the session is " + session + "'s");
        }
        return session;
    }

    private void checkAddress(String federation, long msgRound, byte[] msgNonce) throws RefusedException {
        if (!federationId.equals(federation)) {
            throw new RefusedException(RejectReason.WRONG_FEDERATION, "the message is for federation '"
                    + LogSafe.text(federation, 64) + "', this is '" + federationId + "'");
        }
        if (msgRound != round) {
            throw new RefusedException(RejectReason.STALE_ROUND, "the message is for round " + msgRound + ", the open round is " + round);
        }
        if (!MessageDigest.isEqual(msgNonce, nonce.bytes())) {
            throw new RefusedException(RejectReason.NONCE_MISMATCH, "the message does not carry round " + round + "'s nonce");
        }
    }

    private static void checkKey(VerifyingKey key, String keyId, String scheme) throws RefusedException {
        if (!key.keyId().hex().equals(keyId) || !key.scheme().displayName().equals(scheme)) {
            throw new RefusedException(RejectReason.KEY_MISMATCH, "the message names key '" + LogSafe.text(keyId, 80) + "' ("
                    + LogSafe.text(scheme, 40) + "), the client's key is " + key.keyId() + " (" + key.scheme() + ")");
        }
    }

    private SecAggStatement statement(ClientId client, Part part, byte[] body, VerifyingKey key) {
        return new SecAggStatement(federationId, round, nonce, client, part, body, key.scheme(), key.keyId());
    }

    private SecAggStatement coordinatorStatement(ClientId client, Part part, byte[] body) {
        return new SecAggStatement(federationId, round, nonce, client, part, body, coordinator.scheme(), coordinator.keyId());
    }

    private static SignatureValue verify(SecAggStatement s, VerifyingKey key, byte[] signature) throws RefusedException {
        try {
            SignatureValue v = SignatureValue.of(key.scheme(), signature);
            s.verify(key, v);
            return v;
        } catch (SignatureVerificationException | IllegalArgumentException e) {
            throw new RefusedException(RejectReason.BAD_SIGNATURE, "the " + s.part().wireName() + " message of " + s.clientId()
                    + " does not verify with its key: " + LogSafe.text(e.getMessage()));
        }
    }

    private RefusedException phaseRefusal(String what, Phase needed) {
        String state = phase == Phase.ABORTED ? "stopped (" + abortReason + ")" : "in phase " + phase;
        return new RefusedException(RejectReason.SECAGG_PHASE, "cannot " + what + " now: round " + round
                + "'s secure aggregation is " + state + ", not " + needed);
    }

    private static RefusedException invalid(String why) {
        return new RefusedException(RejectReason.SECAGG_INVALID, why);
    }
}
