package io.pqfl.client.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CSV data through {@link Datasets}: real samples from scikit-learn's datasets, and every error with file and line. */
class CsvDataTest {
    @TempDir
    Path dir;

    static Path resource(String name) {
        try {
            return Path.of(CsvDataTest.class.getResource("/data/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private Path csv(String name, String text) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    private static DataSpec.Builder spec(Path p) {
        return DataSpec.builder(p);
    }

    @Test
    void wine_labelByName_stringClassesNumberedInSortedOrder() throws Exception {
        Examples e = Datasets.load(spec(resource("wine-sample.csv")).labelColumn("class").build());
        assertThat(e.size()).isEqualTo(36);
        assertThat(e.shape()).containsExactly(13);
        assertThat(e.classes()).isEqualTo(3);
        assertThat(e.isRegression()).isFalse();
        assertThat(e.labels()[0]).isZero();
        assertThat(e.labels()[12]).isEqualTo(1);
        assertThat(e.labels()[35]).isEqualTo(2);
        assertThat(e.features()[0]).isEqualTo(14.23f); // alcohol of the first row
        assertThat(e.features()[12]).isEqualTo(1065f); // proline, the last feature
    }

    @Test
    void featureColumns_selectAndOrderByName() throws Exception {
        Examples e = Datasets.load(spec(resource("wine-sample.csv")).labelColumn("class")
                .featureColumns(List.of("proline", "alcohol")).build());
        assertThat(e.shape()).containsExactly(2);
        assertThat(e.features()[0]).isEqualTo(1065f);
        assertThat(e.features()[1]).isEqualTo(14.23f);
    }

    @Test
    void breastCancer_quotedHeader_stringLabels() throws Exception {
        Examples e = Datasets.load(spec(resource("breast-cancer-sample.csv")).labelColumn("diagnosis")
                .featureColumns(List.of("mean radius", "worst concave points")).build());
        assertThat(e.size()).isEqualTo(40);
        assertThat(e.classes()).isEqualTo(2);
        // benign < malignant in sorted order; the rows alternate malignant, benign
        assertThat(e.labels()[0]).isEqualTo(1);
        assertThat(e.labels()[1]).isZero();
        assertThat(e.features()[0]).isEqualTo(17.99f);
    }

    @Test
    void givenClasses_fixTheNumbering_evenWhenAClientLacksOne() throws Exception {
        Path p = csv("few.csv", "x,y,class\n1,2,class_2\n3,4,class_2\n");
        Examples e = Datasets.load(spec(p).labelColumn("class").classes(List.of("class_0", "class_1", "class_2")).build());
        assertThat(e.labels()).containsExactly(2, 2);
        assertThat(e.classes()).isEqualTo(3);
        Path bad = csv("bad.csv", "x,y,class\n1,2,class_2\n3,4,class_9\n");
        assertThatThrownBy(() -> Datasets.load(spec(bad).labelColumn("class").classes(List.of("class_0", "class_2")).build()))
                .isInstanceOf(DataException.class)
                .hasMessage(bad + " line 3, column 'class': label 'class_9' is not one of the classes given: class_0, class_2");
    }

    @Test
    void integerLabels_areUsedAsTheyAre() throws Exception {
        Path p = csv("ints.csv", "label,a\n0,1\n2,1\n");
        Examples e = Datasets.load(spec(p).labelColumn("label").build());
        assertThat(e.labels()).containsExactly(0, 2);
        assertThat(e.classes()).isEqualTo(3);
        Path negative = csv("neg.csv", "label,a\n1,1\n-1,1\n");
        assertThat(Datasets.load(spec(negative).labelColumn("label").build()).labels()).containsExactly(1, 0);
    }

    @Test
    void diabetes_regression_realTargets() throws Exception {
        Examples e = Datasets.load(spec(resource("diabetes-sample.csv")).labelColumn("progression")
                .task(DataSpec.Task.REGRESSION).build());
        assertThat(e.isRegression()).isTrue();
        assertThat(e.size()).isEqualTo(40);
        assertThat(e.shape()).containsExactly(10);
        assertThat(e.targets()[0]).isEqualTo(151f);
        assertThat(e.targets()[1]).isEqualTo(75f);
    }

    @Test
    void sklearnLayout_classesFromTheFirstLine_labelLast() throws Exception {
        Examples e = Datasets.load(spec(resource("wine-sklearn-sample.csv")).format(DataSpec.Format.SKLEARN).build());
        Examples headed = Datasets.load(spec(resource("wine-sample.csv")).labelColumn("class").build());
        assertThat(e).isEqualTo(headed);
    }

    @Test
    void sklearnLayout_readAsPlainCsv_hintsAtTheFormat() throws Exception {
        Path p = resource("wine-sklearn-sample.csv");
        assertThatThrownBy(() -> Datasets.load(DataSpec.of(p))).isInstanceOf(DataException.class)
                .hasMessage(p + " line 1: '36,13,class_0,class_1,class_2' looks like scikit-learn's "
                        + "'n_samples,n_features,class names' line, not a header: read the file as format sklearn");
        // iris's first line has as many cells as its rows: caught all the same
        Path iris = csv("iris.csv", "3,4,setosa,versicolor,virginica\n5.1,3.5,1.4,0.2,0\n7.0,3.2,4.7,1.4,1\n6.3,3.3,6.0,2.5,2\n");
        assertThatThrownBy(() -> Datasets.load(DataSpec.of(iris))).hasMessageContaining("format sklearn");
        assertThat(Datasets.load(spec(iris).format(DataSpec.Format.SKLEARN).build()).labels()).containsExactly(0, 1, 2);
        // without class names (a regression target), line 1 is no header, and line 2 is where the cells disagree
        Path houses = csv("h.csv", "2,2\n6.5,65.2,24\n6.4,78.9,21.6\n");
        assertThatThrownBy(() -> Datasets.load(DataSpec.of(houses)))
                .hasMessageStartingWith(houses + " line 2: 3 cells, expected 2 as on line 1")
                .hasMessageContaining("format sklearn");
    }

    @Test
    void sklearnLayout_withHeaderAndNoClasses_isRegression_andCountsRows() throws Exception {
        Path p = csv("houses.csv", "3,2,,\n\"ROOMS\",\"AGE\",\"PRICE\"\n6.5,65.2,24\n6.4,78.9,21.6\n7.1,61.1,34.7\n");
        Examples e = Datasets.load(spec(p).format(DataSpec.Format.SKLEARN).build());
        assertThat(e.isRegression()).isTrue();
        assertThat(e.targets()).containsExactly(24f, 21.6f, 34.7f);
        Path truncated = csv("short.csv", "4,2,,\n6.5,65.2,24\n");
        assertThatThrownBy(() -> Datasets.load(spec(truncated).format(DataSpec.Format.SKLEARN).build()))
                .hasMessage(truncated + " line 1: says 4 samples, but the file has 1 data rows (truncated?)");
        Path notSklearn = csv("plain.csv", "a,b,c\n1,2,3\n");
        assertThatThrownBy(() -> Datasets.load(spec(notSklearn).format(DataSpec.Format.SKLEARN).build()))
                .hasMessageStartingWith(notSklearn + " line 1: not the scikit-learn layout");
    }

    @Test
    void legacyHeaderless_labelFirst_withScale_andGzip() throws Exception {
        Path p = dir.resolve("pixels.csv.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(p))) {
            out.write("3,0,255\n\n1,51,102\n".getBytes(StandardCharsets.UTF_8));
        }
        Examples e = Datasets.load(spec(p).csvScale(1 / 255f).build());
        assertThat(e.labels()).containsExactly(3, 1);
        assertThat(e.classes()).isEqualTo(4);
        assertThat(e.features()).containsExactly(new float[] {0f, 1f, 0.2f, 0.4f}, within(1e-6f));
        // columns of a headerless file are named by position
        Examples byPosition = Datasets.load(spec(p).labelColumn("3").featureColumns(List.of("1")).build());
        assertThat(byPosition.labels()).containsExactly(255, 102);
        assertThat(byPosition.features()).containsExactly(3f, 1f);
    }

    @Test
    void legacyHeader_isSkipped() throws Exception {
        Path p = csv("h.csv", "label,f1,f2\n1,0.5,0.25\n");
        assertThat(Datasets.load(DataSpec.of(p)).features()).containsExactly(0.5f, 0.25f);
    }

    @Test
    void quotedFields_mayHoldCommasAndLineBreaks() throws Exception {
        Path p = csv("q.csv", "\"name, full\",\"x\",\"kind\"\n\"a, b\n c\",\"1.5\",\"cat, big\"\n\"d\",2,dog\n");
        Examples e = Datasets.load(spec(p).labelColumn("kind").featureColumns(List.of("x")).build());
        assertThat(e.features()).containsExactly(1.5f, 2f);
        assertThat(e.labels()).containsExactly(0, 1);
        Path bad = csv("q2.csv", "\"name, full\",\"x\",\"kind\"\n\"a, b\n c\",\"1.5\",\"cat\"\n\"d\",oops,dog\n");
        assertThatThrownBy(() -> Datasets.load(spec(bad).labelColumn("kind").featureColumns(List.of("x")).build()))
                .hasMessage(bad + " line 4, column 'x': not a number: 'oops'");
    }

    @Test
    void missingValue_namesFileLineAndColumn() throws IOException {
        Path p = csv("m.csv", "a,b,label\n1,2,0\n3,,1\n");
        assertThatThrownBy(() -> Datasets.load(spec(p).labelColumn("label").build())).isInstanceOf(DataException.class)
                .hasMessage(p + " line 3, column 'b': missing value");
        Path missingLabel = csv("ml.csv", "a,b,label\n1,2,\n");
        assertThatThrownBy(() -> Datasets.load(spec(missingLabel).labelColumn("label").build()))
                .hasMessage(missingLabel + " line 2, column 'label': missing label");
    }

    @Test
    void nonNumericAndNonFiniteValues_nameFileLineAndColumn() throws IOException {
        Path p = csv("n.csv", "a,b,label\n1,2,0\n\n3,abc,1\n");
        assertThatThrownBy(() -> Datasets.load(spec(p).labelColumn("label").build()))
                .hasMessage(p + " line 4, column 'b': not a number: 'abc'");
        Path nan = csv("nan.csv", "a,b,label\n1,NaN,0\n");
        assertThatThrownBy(() -> Datasets.load(spec(nan).labelColumn("label").build()))
                .hasMessage(nan + " line 2, column 'b': not a finite number: 'NaN'");
        Path target = csv("t.csv", "a,y\n1,2\n1,high\n");
        assertThatThrownBy(() -> Datasets.load(spec(target).labelColumn("y").task(DataSpec.Task.REGRESSION).build()))
                .hasMessage(target + " line 3, column 'y': not a number: 'high'");
    }

    @Test
    void unknownLabelOrFeatureColumn_listsTheColumns() throws IOException {
        Path p = csv("c.csv", "a,b,label\n1,2,0\n");
        assertThatThrownBy(() -> Datasets.load(spec(p).labelColumn("target").build()))
                .hasMessage(p + ": no label column 'target'; the columns are: a, b, label");
        assertThatThrownBy(() -> Datasets.load(spec(p).labelColumn("label").featureColumns(List.of("a", "z")).build()))
                .hasMessage(p + ": no feature column 'z'; the columns are: a, b, label");
        Path headerless = csv("nh.csv", "0,1,2\n");
        assertThatThrownBy(() -> Datasets.load(spec(headerless).labelColumn("label").build()))
                .hasMessageContaining("no label column 'label'; the file has no header row");
    }

    @Test
    void wrongNumberOfCells_namesTheLine() throws IOException {
        Path p = csv("w.csv", "a,b,label\n1,2,0\n1,2\n");
        assertThatThrownBy(() -> Datasets.load(spec(p).labelColumn("label").build()))
                .hasMessage(p + " line 3: 2 cells, expected 3 as in the header on line 1");
        Path headerless = csv("w2.csv", "0,1,2\n1,1,2,3\n");
        assertThatThrownBy(() -> Datasets.load(DataSpec.of(headerless)))
                .hasMessage(headerless + " line 2: 4 cells, expected 3 as on line 1");
    }

    @Test
    void emptyFiles_andHeaderOnly_areRefused() throws IOException {
        Path empty = csv("e.csv", "");
        assertThatThrownBy(() -> Datasets.load(DataSpec.of(empty))).hasMessage(empty + ": empty file: no rows");
        Path blank = csv("b.csv", "\n  \n");
        assertThatThrownBy(() -> Datasets.load(DataSpec.of(blank))).hasMessage(blank + ": empty file: no rows");
        Path header = csv("h.csv", "a,b,label\n");
        assertThatThrownBy(() -> Datasets.load(spec(header).labelColumn("label").build()))
                .hasMessage(header + ": no data rows, only the header on line 1");
    }

    @Test
    void malformedQuoting_namesTheLine() throws IOException {
        Path p = csv("bad.csv", "a,b,label\n1,2,0\n\"1\"x,2,0\n");
        assertThatThrownBy(() -> Datasets.load(spec(p).labelColumn("label").build())).isInstanceOf(DataException.class)
                .hasMessageStartingWith(p + " line 3");
    }

    @Test
    void duplicateHeaderNames_andLabelAsFeature_areRefused() throws IOException {
        Path p = csv("d.csv", "a,a,label\n1,2,0\n");
        assertThatThrownBy(() -> Datasets.load(spec(p).labelColumn("label").build()))
                .hasMessage(p + " line 1: the header names column 'a' twice (columns 1 and 2)");
        assertThatThrownBy(() -> DataSpec.builder(p).labelColumn("x").featureColumns(List.of("x")).build())
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void missingFile_isNamed() {
        Path p = dir.resolve("nowhere.csv");
        assertThatThrownBy(() -> Datasets.load(DataSpec.of(p))).hasMessage(p + ": no such file");
    }
}
