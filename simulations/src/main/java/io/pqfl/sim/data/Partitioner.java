package io.pqfl.sim.data;

import io.pqfl.client.data.Examples;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Splits a dataset among clients, reproducibly from a seed: {@code iid} (a shuffled equal split),
 * {@code dirichlet} (per class, shares drawn from Dirichlet(alpha): small alpha gives each client few
 * classes) and {@code shards} (sorted by label, cut into 2 shards per client, shards dealt at random, as in
 * McMahan et al.). Examples of any shape are split alike: only their labels or targets matter. Regression
 * examples have no classes: {@code shards} sorts them by target (each client gets two ranges of the target),
 * and {@code dirichlet} deals out {@value #REGRESSION_BINS} quantile bins of the target as if they were classes.
 */
public final class Partitioner {
    public enum Kind { IID, DIRICHLET, SHARDS }

    /** How many equal-count target ranges stand for classes when regression data is split by Dirichlet. */
    public static final int REGRESSION_BINS = 10;

    private Partitioner() {
    }

    public static Kind kind(String name) {
        try {
            return Kind.valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown partition '" + name + "': use iid, dirichlet or shards");
        }
    }

    /**
     * Client index lists over {@code data}'s examples (by label, or for regression by target); {@code perClient}
     * caps each client's examples (0 = no cap).
     */
    public static List<int[]> split(Examples data, int clients, Kind kind, double alpha, int perClient, long seed) {
        if (!data.isRegression()) {
            return split(data.labels(), clients, kind, alpha, perClient, seed);
        }
        float[] targets = data.targets();
        Integer[] byTarget = new Integer[targets.length];
        for (int i = 0; i < byTarget.length; i++) {
            byTarget[i] = i;
        }
        Arrays.sort(byTarget, (a, b) -> Float.compare(targets[a], targets[b]));
        int[] groups = new int[targets.length];
        for (int rank = 0; rank < byTarget.length; rank++) {
            groups[byTarget[rank]] = switch (kind) {
                case IID -> 0;
                case SHARDS -> rank;
                case DIRICHLET -> (int) ((long) rank * REGRESSION_BINS / targets.length);
            };
        }
        return split(groups, clients, kind, alpha, perClient, seed);
    }

    /** Client index lists over {@code labels}; {@code perClient} caps each client's examples (0 = no cap). */
    public static List<int[]> split(int[] labels, int clients, Kind kind, double alpha, int perClient, long seed) {
        if (clients < 1) {
            throw new IllegalArgumentException("need at least one client");
        }
        if (kind == Kind.DIRICHLET && !(alpha > 0)) {
            throw new IllegalArgumentException("dirichlet alpha must be > 0, got " + alpha);
        }
        Random random = new Random(seed);
        List<List<Integer>> out = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            out.add(new ArrayList<>());
        }
        int[] order = shuffled(labels.length, random);
        switch (kind) {
            case IID -> {
                for (int i = 0; i < order.length; i++) {
                    out.get(i % clients).add(order[i]);
                }
            }
            case DIRICHLET -> {
                int classes = Arrays.stream(labels).max().orElse(0) + 1;
                for (int k = 0; k < classes; k++) {
                    List<Integer> members = new ArrayList<>();
                    for (int i : order) {
                        if (labels[i] == k) {
                            members.add(i);
                        }
                    }
                    double[] share = dirichlet(clients, alpha, random);
                    int from = 0;
                    double cumulative = 0;
                    for (int c = 0; c < clients; c++) {
                        cumulative += share[c];
                        int to = c == clients - 1 ? members.size() : (int) Math.round(cumulative * members.size());
                        out.get(c).addAll(members.subList(from, Math.max(from, to)));
                        from = Math.max(from, to);
                    }
                }
                for (List<Integer> l : out) {
                    java.util.Collections.shuffle(l, random);
                }
            }
            case SHARDS -> {
                Integer[] byLabel = Arrays.stream(order).boxed().toArray(Integer[]::new);
                Arrays.sort(byLabel, (a, b) -> Integer.compare(labels[a], labels[b]));
                int shards = clients * 2;
                int size = labels.length / shards;
                int[] shardOrder = shuffled(shards, random);
                for (int s = 0; s < shards; s++) {
                    int shard = shardOrder[s];
                    for (int i = shard * size; i < (shard + 1) * size; i++) {
                        out.get(s % clients).add(byLabel[i]);
                    }
                }
            }
        }
        List<int[]> result = new ArrayList<>();
        for (List<Integer> l : out) {
            int n = perClient > 0 ? Math.min(perClient, l.size()) : l.size();
            result.add(l.subList(0, n).stream().mapToInt(Integer::intValue).toArray());
        }
        return result;
    }

    private static int[] shuffled(int n, Random random) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** Dirichlet(alpha, ..., alpha) via normalised Gamma(alpha, 1) draws (Marsaglia-Tsang). */
    static double[] dirichlet(int n, double alpha, Random random) {
        double[] g = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            g[i] = gamma(alpha, random);
            sum += g[i];
        }
        for (int i = 0; i < n; i++) {
            g[i] = sum > 0 ? g[i] / sum : 1.0 / n;
        }
        return g;
    }

    private static double gamma(double alpha, Random random) {
        if (alpha < 1) {
            return gamma(alpha + 1, random) * Math.pow(random.nextDouble(), 1 / alpha);
        }
        double d = alpha - 1.0 / 3;
        double c = 1 / Math.sqrt(9 * d);
        while (true) {
            double x = random.nextGaussian();
            double v = Math.pow(1 + c * x, 3);
            if (v > 0 && Math.log(random.nextDouble()) < 0.5 * x * x + d - d * v + d * Math.log(v)) {
                return d * v;
            }
        }
    }
}
