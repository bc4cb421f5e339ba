package io.pqfl.client.data;

import static io.pqfl.client.data.CsvDataTest.resource;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Own statistics come from the training rows only; shared statistics come from a JSON or CSV file. */
class StandardizationTest {
    @TempDir
    Path dir;

    @Test
    void ownStatistics_areFittedOnTheTrainingRows_andAppliedToTheHeldOutRows() throws Exception {
        Path p = dir.resolve("s.csv");
        // training rows: x = 1, 3 (mean 2, std 1); held-out row: x = 100
        Files.writeString(p, "x,label\n1,0\n3,1\n100,0\n");
        DataSpec spec = DataSpec.builder(p).labelColumn("label").standardize(true).heldOutFraction(0.34).build();
        Datasets.Split s = Datasets.loadSplit(spec);
        assertThat(s.train().features()).containsExactly(-1f, 1f);
        assertThat(s.heldOut().features()).containsExactly(98f);
        assertThat(Datasets.load(spec).features()).containsExactly(-1f, 1f, 98f);
    }

    @Test
    void partition_comesFirst_thenTheHeldOutShare() throws Exception {
        Path p = dir.resolve("p.csv");
        Files.writeString(p, "x,label\n0,0\n1,0\n2,0\n3,0\n4,0\n5,0\n");
        Datasets.Split s = Datasets.loadSplit(DataSpec.builder(p).labelColumn("label").partition("2-5").heldOutFraction(0.25).build());
        assertThat(s.train().features()).containsExactly(2f, 3f, 4f);
        assertThat(s.heldOut().features()).containsExactly(5f);
        Datasets.Split none = Datasets.loadSplit(DataSpec.builder(p).labelColumn("label").build());
        assertThat(none.heldOut().size()).isZero();
    }

    @Test
    void sharedStatistics_fromJsonOrCsv_giveEveryClientTheSameTransformation() throws Exception {
        Path wine = resource("wine-sample.csv");
        Path json = dir.resolve("stats.json");
        Files.writeString(json, "{\"alcohol\": {\"mean\": 13.0, \"std\": 0.5}, \"proline\": {\"mean\": 1000, \"std\": 250},"
                + " \"unused\": {\"mean\": 0, \"std\": 1}}");
        Path csv = dir.resolve("stats.csv");
        Files.writeString(csv, ",mean,std\nproline,1000,250\nalcohol,13.0,0.5\n");
        DataSpec.Builder b = DataSpec.builder(wine).labelColumn("class").featureColumns(List.of("alcohol", "proline"));
        Examples fromJson = Datasets.load(b.standardizeStats(json).build());
        Examples fromCsv = Datasets.load(b.standardizeStats(csv).build());
        assertThat(fromJson.features()[0]).isCloseTo((14.23f - 13f) / 0.5f, within(1e-5f));
        assertThat(fromJson.features()[1]).isCloseTo(65f / 250f, within(1e-5f));
        assertThat(fromCsv).isEqualTo(fromJson);
        // a partition of the same file is transformed the same way row for row
        Examples part = Datasets.load(b.standardizeStats(json).partition("0-9").build());
        assertThat(part.features()[0]).isEqualTo(fromJson.features()[0]);
    }

    @Test
    void sharedStatistics_missingAColumn_orWithZeroStd_areRefused() throws Exception {
        Path wine = resource("wine-sample.csv");
        Path json = dir.resolve("stats.json");
        Files.writeString(json, "{\"alcohol\": {\"mean\": 13.0, \"std\": 0.5}}");
        DataSpec.Builder b = DataSpec.builder(wine).labelColumn("class").featureColumns(List.of("alcohol", "proline", "hue"));
        assertThatThrownBy(() -> Datasets.load(b.standardizeStats(json).build())).isInstanceOf(DataException.class)
                .hasMessage(json + ": no statistics for feature column(s) proline, hue; it has alcohol");
        Files.writeString(json, "{\"alcohol\": {\"mean\": 13.0, \"std\": 0}}");
        assertThatThrownBy(() -> Datasets.load(b.featureColumns(List.of("alcohol")).standardizeStats(json).build()))
                .hasMessageStartingWith(json + ": column 'alcohol'");
        Files.writeString(json, "[1, 2]");
        assertThatThrownBy(() -> Datasets.load(b.standardizeStats(json).build())).hasMessageContaining("expected a JSON object");
    }

    @Test
    void writtenStatistics_readBack() throws Exception {
        Examples wine = Datasets.load(DataSpec.builder(resource("wine-sample.csv")).labelColumn("class").build());
        List<String> names = List.of("alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols",
                "flavanoids", "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue",
                "od280/od315_of_diluted_wines", "proline");
        Standardizer fitted = Standardizer.fit(names, wine);
        Path json = dir.resolve("wine-stats.json");
        fitted.write(json);
        assertThat(Standardizer.read(json, names)).isEqualTo(fitted);
        Examples standardised = fitted.apply(wine);
        Standardizer again = Standardizer.fit(names, standardised);
        for (int c = 0; c < names.size(); c++) {
            assertThat(again.mean()[c]).isCloseTo(0f, within(1e-4f));
            assertThat(again.std()[c]).isCloseTo(1f, within(1e-4f));
        }
        // the same as own standardisation of the whole file
        assertThat(Datasets.load(DataSpec.builder(resource("wine-sample.csv")).labelColumn("class").standardize(true).build()))
                .isEqualTo(standardised);
    }

    @Test
    void aConstantColumn_keepsStdOne() {
        Examples e = new Examples(new float[] {5, 1, 5, 3}, new int[] {0, 1}, 2, 2);
        Standardizer s = Standardizer.fit(List.of("c", "x"), e);
        assertThat(s.std()).containsExactly(1f, 1f);
        assertThat(s.apply(e).features()).containsExactly(0f, -1f, 0f, 1f);
    }
}
