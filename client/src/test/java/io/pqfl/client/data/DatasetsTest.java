package io.pqfl.client.data;

import static io.pqfl.client.data.CsvDataTest.resource;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Format dispatch, the simulation's train/test split, and IDX through the one entry point. */
class DatasetsTest {
    @TempDir
    Path dir;

    @Test
    void auto_dispatchesByWhatThePathIs() throws Exception {
        assertThat(Datasets.format(DataSpec.of(resource("wine-sample.csv")))).isEqualTo(DataSpec.Format.CSV);
        Files.createDirectories(dir.resolve("images").resolve("cat"));
        assertThat(Datasets.format(DataSpec.of(dir.resolve("images")))).isEqualTo(DataSpec.Format.IMAGES);
        Files.createDirectories(dir.resolve("idx"));
        Files.writeString(dir.resolve("idx").resolve("train-images-idx3-ubyte.gz"), "");
        assertThat(Datasets.format(DataSpec.of(dir.resolve("idx")))).isEqualTo(DataSpec.Format.IDX);
        Path other = dir.resolve("data.parquet");
        Files.writeString(other, "");
        assertThatThrownBy(() -> Datasets.format(DataSpec.of(other))).isInstanceOf(DataException.class)
                .hasMessageStartingWith(other + ": cannot tell its format");
        assertThatThrownBy(() -> Datasets.load(DataSpec.of(IdxFiles.DEBIAN_FASHION_MNIST.resolveSibling("nowhere"))))
                .hasMessageContaining("no such file or directory");
    }

    @Test
    void idx_fashionMnist_isShaped1x28x28_andRefusesCsvOptions() throws Exception {
        assumeThat(Files.isDirectory(IdxFiles.DEBIAN_FASHION_MNIST)).as("apt-get install dataset-fashion-mnist").isTrue();
        DataSpec spec = DataSpec.builder(IdxFiles.DEBIAN_FASHION_MNIST).partition("0-99").heldOutFraction(0.1).build();
        Datasets.Split s = Datasets.loadSplit(spec);
        assertThat(s.train().size()).isEqualTo(90);
        assertThat(s.heldOut().size()).isEqualTo(10);
        assertThat(s.train().shape()).containsExactly(1, 28, 28);
        assertThat(s.train().classes()).isEqualTo(10);
        assertThatThrownBy(() -> Datasets.load(DataSpec.builder(IdxFiles.DEBIAN_FASHION_MNIST).task(DataSpec.Task.REGRESSION).build()))
                .hasMessageContaining("which takes no regression");
        Datasets.Split trainTest = Datasets.trainTest(DataSpec.of(IdxFiles.DEBIAN_FASHION_MNIST), 0.2, 1);
        assertThat(trainTest.train().size()).isEqualTo(60_000);
        assertThat(trainTest.heldOut().size()).isEqualTo(10_000);
    }

    @Test
    void trainTest_holdsOutASeededFraction_disjointAndComplete() throws Exception {
        DataSpec spec = DataSpec.builder(resource("wine-sample.csv")).labelColumn("class").build();
        Datasets.Split a = Datasets.trainTest(spec, 0.25, 7);
        Datasets.Split b = Datasets.trainTest(spec, 0.25, 7);
        Datasets.Split c = Datasets.trainTest(spec, 0.25, 8);
        assertThat(a.heldOut().size()).isEqualTo(9);
        assertThat(a.train().size()).isEqualTo(27);
        assertThat(a).isEqualTo(b);
        assertThat(a.heldOut()).isNotEqualTo(c.heldOut());
        // every row once: compare the first feature (alcohol) multisets
        float[] all = Datasets.load(spec).features();
        float[] joined = new float[36];
        for (int i = 0; i < 27; i++) {
            joined[i] = a.train().features()[i * 13];
        }
        for (int i = 0; i < 9; i++) {
            joined[27 + i] = a.heldOut().features()[i * 13];
        }
        float[] firstColumn = new float[36];
        IntStream.range(0, 36).forEach(i -> firstColumn[i] = all[i * 13]);
        Arrays.sort(joined);
        Arrays.sort(firstColumn);
        assertThat(joined).containsExactly(firstColumn);
    }

    @Test
    void trainTest_standardisesBothWithTheTrainingStatistics() throws Exception {
        Path p = dir.resolve("x.csv");
        StringBuilder sb = new StringBuilder("x,label\n");
        for (int i = 0; i < 10; i++) {
            sb.append(i).append(",0\n");
        }
        Files.writeString(p, sb);
        Datasets.Split s = Datasets.trainTest(DataSpec.builder(p).labelColumn("label").standardize(true).build(), 0.2, 3);
        Standardizer check = Standardizer.fit(java.util.List.of("x"), s.train());
        assertThat(check.mean()[0]).isCloseTo(0f, org.assertj.core.data.Offset.offset(1e-5f));
        assertThat(s.heldOut().size()).isEqualTo(2);
    }
}
