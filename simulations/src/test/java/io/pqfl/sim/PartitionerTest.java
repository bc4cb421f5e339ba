package io.pqfl.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
}
