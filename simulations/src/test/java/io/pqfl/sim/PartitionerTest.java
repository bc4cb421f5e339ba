package io.pqfl.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.client.data.Examples;
import io.pqfl.sim.data.Partitioner;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class PartitionerTest {
    private static final int[] LABELS = IntStream.range(0, 10_000).map(i -> i % 10).toArray();

    private static Set<Integer> classes(int[] idx) {
        Set<Integer> s = new HashSet<>();
        for (int i : idx) {
            s.add(LABELS[i]);
        }
        return s;
    }

    @Test
    void iid_isADisjointCover_withEveryClassEverywhere_andReproducible() {
        List<int[]> parts = Partitioner.split(LABELS, 8, Partitioner.Kind.IID, 0, 0, 3);
        assertThat(parts.stream().mapToInt(p -> p.length).sum()).isEqualTo(10_000);
        assertThat(parts.stream().flatMapToInt(Arrays::stream).distinct().count()).isEqualTo(10_000);
        assertThat(parts).allSatisfy(p -> assertThat(classes(p)).hasSize(10));
        assertThat(Partitioner.split(LABELS, 8, Partitioner.Kind.IID, 0, 0, 3).get(5))
                .containsExactly(parts.get(5));
    }

    @Test
    void dirichlet_smallAlpha_skewsClassesPerClient() {
        List<int[]> skewed = Partitioner.split(LABELS, 10, Partitioner.Kind.DIRICHLET, 0.1, 0, 1);
        List<int[]> mild = Partitioner.split(LABELS, 10, Partitioner.Kind.DIRICHLET, 100, 0, 1);
        double skewedClasses = skewed.stream().filter(p -> p.length > 0).mapToInt(p -> classes(p).size()).average().orElse(0);
        double mildClasses = mild.stream().mapToInt(p -> classes(p).size()).average().orElse(0);
        assertThat(skewedClasses).isLessThan(6);
        assertThat(mildClasses).isEqualTo(10);
        assertThat(skewed.stream().flatMapToInt(Arrays::stream).distinct().count()).isEqualTo(10_000);
    }

    @Test
    void shards_giveEachClientAtMostTwoClasses_andTheCapApplies() {
        List<int[]> parts = Partitioner.split(LABELS, 5, Partitioner.Kind.SHARDS, 0, 0, 2);
        assertThat(parts).allSatisfy(p -> assertThat(classes(p).size()).isLessThanOrEqualTo(2));
        assertThat(Partitioner.split(LABELS, 5, Partitioner.Kind.IID, 0, 100, 2)).allSatisfy(p -> assertThat(p).hasSize(100));
    }

    @Test
    void badParameters_areRefused() {
        assertThatThrownBy(() -> Partitioner.kind("random")).hasMessageContaining("use iid, dirichlet or shards");
        assertThatThrownBy(() -> Partitioner.split(LABELS, 4, Partitioner.Kind.DIRICHLET, 0, 0, 1)).hasMessageContaining("alpha");
    }

    private static Examples regression(int n) {
        float[] targets = new float[n];
        for (int i = 0; i < n; i++) {
            targets[i] = (i * 7919) % n; // every value 0..n-1 once, shuffled
        }
        return Examples.regression(new float[n * 3], targets, new int[] {3});
    }

    @Test
    void regression_shards_giveEachClientTwoTargetRanges() {
        Examples data = regression(1000);
        List<int[]> parts = Partitioner.split(data, 5, Partitioner.Kind.SHARDS, 0, 0, 2);
        assertThat(parts.stream().flatMapToInt(Arrays::stream).distinct().count()).isEqualTo(1000);
        for (int[] p : parts) {
            // 2 shards of 100 consecutive target values each: the targets fall into exactly two blocks of 100
            Set<Integer> blocks = new HashSet<>();
            for (int i : p) {
                blocks.add((int) data.targets()[i] / 100);
            }
            assertThat(blocks).hasSize(2);
        }
    }

    @Test
    void regression_dirichlet_dealsTargetQuantiles_andIidMixesAll() {
        Examples data = regression(2000);
        List<int[]> skewed = Partitioner.split(data, 10, Partitioner.Kind.DIRICHLET, 0.1, 0, 1);
        assertThat(skewed.stream().flatMapToInt(Arrays::stream).distinct().count()).isEqualTo(2000);
        double bins = skewed.stream().filter(p -> p.length > 0).mapToLong(p -> Arrays.stream(p)
                .map(i -> (int) data.targets()[i] / 200).distinct().count()).average().orElse(0);
        assertThat(bins).isLessThan(6);
        List<int[]> iid = Partitioner.split(data, 4, Partitioner.Kind.IID, 0, 0, 1);
        assertThat(iid).allSatisfy(p -> assertThat(p).hasSize(500));
    }

    @Test
    void examplesOfAnyShape_splitByTheirLabels() {
        Examples images = new Examples(new float[LABELS.length * 12], LABELS, null, new int[] {3, 2, 2}, 10);
        assertThat(Partitioner.split(images, 8, Partitioner.Kind.IID, 0, 0, 3).get(5))
                .containsExactly(Partitioner.split(LABELS, 8, Partitioner.Kind.IID, 0, 0, 3).get(5));
    }
}
