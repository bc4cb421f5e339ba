package io.pqfl.coordinator.aggregate;

import io.pqfl.coordinator.verify.VerifiedUpdate;
import io.pqfl.protocol.ModelWeights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Krum and Multi-Krum (Blanchard et al., 2017). Each update is scored by the sum of squared distances to
 * its {@code n - f - 2} nearest neighbours, where {@code f} is the number of Byzantine clients tolerated;
 * the {@code m} best-scored updates are averaged (weighted by examples). {@code m = 1} is Krum.
 */
public final class Krum implements Strategy {
    private final int f;
    private final int m;

    private final Weighting weighting;

    public Krum(int byzantine, int select) {
        this(byzantine, select, Weighting.EXAMPLES);
    }

    public Krum(int byzantine, int select, Weighting weighting) {
        this.weighting = java.util.Objects.requireNonNull(weighting, "weighting");
        if (byzantine < 0 || select < 1) {
            throw new IllegalArgumentException("krum needs f >= 0 and m >= 1");
        }
        this.f = byzantine;
        this.m = select;
    }

    @Override
    public String name() {
        return m == 1 ? "krum" : "multikrum";
    }

    @Override
    public boolean holdsEveryUpdate() {
        return true;
    }

    @Override
    public void checkClients(int minClients) {
        if (minClients < 2 * f + 3) {
            throw new IllegalArgumentException(name() + " with f=" + f + " needs rounds of at least 2f+3 = " + (2 * f + 3)
                    + " updates to outvote f attackers; the minimum is " + minClients + " (raise it, or lower f)");
        }
    }

    @Override
    public RoundAggregator begin(long round, ModelWeights global) {
        return new WeightsMath.Buffering() {
            @Override
            public ModelWeights finish() {
                return WeightsMath.weightedMean(global.manifest(), select(updates), weighting);
            }
        };
    }

    List<VerifiedUpdate> select(List<VerifiedUpdate> updates) {
        int n = updates.size();
        if (n == 0) {
            throw new IllegalStateException("no updates to aggregate");
        }
        int neighbours = Math.max(1, n - f - 2);
        double[][] d = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                d[i][j] = d[j][i] = WeightsMath.squaredDistance(updates.get(i).weights(), updates.get(j).weights());
            }
        }
        double[] score = new double[n];
        for (int i = 0; i < n; i++) {
            double[] row = new double[n - 1];
            for (int j = 0, k = 0; j < n; j++) {
                if (j != i) {
                    row[k++] = d[i][j];
                }
            }
            Arrays.sort(row);
            for (int k = 0; k < Math.min(neighbours, row.length); k++) {
                score[i] += row[k];
            }
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            order.add(i);
        }
        order.sort(Comparator.comparingDouble(i -> score[i]));
        return order.subList(0, Math.min(m, n)).stream().map(updates::get).toList();
    }
}
