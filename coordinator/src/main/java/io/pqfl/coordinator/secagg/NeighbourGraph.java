package io.pqfl.coordinator.secagg;

import io.pqfl.crypto.ClientId;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

/**
 * The SecAgg+ communication graph (Bell et al. 2020): a Harary graph over the clients in a random order, so that each
 * client has about {@code k} neighbours and the protocol's cost per client grows with {@code k = O(log n)}, not with
 * {@code n}. Each client is joined to the {@code ceil(k/2)} clients after it and before it on a circle; the order is
 * drawn from the round's nonce, so it is fixed for the round and unknown before it opens.
 */
public final class NeighbourGraph {
    private NeighbourGraph() {
    }

    /** Each client's neighbours, sorted by id. With {@code k >= n - 1} every client neighbours every other. */
    public static Map<ClientId, List<ClientId>> build(List<ClientId> clients, int k, byte[] nonce) {
        List<ClientId> order = new ArrayList<>(clients);
        order.sort(Comparator.comparing(ClientId::value));
        Collections.shuffle(order, new Random(seed(nonce)));
        int n = order.size();
        Map<ClientId, Set<ClientId>> edges = new LinkedHashMap<>();
        order.forEach(c -> edges.put(c, new HashSet<>()));
        if (k >= n - 1) {
            for (ClientId a : order) {
                for (ClientId b : order) {
                    if (!a.equals(b)) {
                        edges.get(a).add(b);
                    }
                }
            }
        } else {
            int half = (k + 1) / 2;
            for (int i = 0; i < n; i++) {
                for (int d = 1; d <= half; d++) {
                    ClientId a = order.get(i);
                    ClientId b = order.get((i + d) % n);
                    edges.get(a).add(b);
                    edges.get(b).add(a);
                }
            }
        }
        Map<ClientId, List<ClientId>> out = new LinkedHashMap<>();
        for (var e : edges.entrySet()) {
            TreeSet<ClientId> sorted = new TreeSet<>(Comparator.comparing(ClientId::value));
            sorted.addAll(e.getValue());
            out.put(e.getKey(), List.copyOf(sorted));
        }
        return out;
    }

    private static long seed(byte[] nonce) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(nonce);
            return ByteBuffer.wrap(h).getLong();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
