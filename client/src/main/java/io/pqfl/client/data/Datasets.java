package io.pqfl.client.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Random;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the examples a {@link DataSpec} names: the one entry point for every data format (IDX, CSV, the
 * scikit-learn CSV layout, image folders). docs/DATA.md describes the formats and their errors.
 *
 * <p>A client calls {@link #load} or {@link #loadSplit}: its partition of the file, its held-out share at the end,
 * and standardisation fitted on its training rows only (or read from a shared statistics file). A simulation calls
 * {@link #trainTest}, which keeps a test set apart and fits standardisation on the pooled training rows.
 */
public final class Datasets {
    private static final Logger log = LoggerFactory.getLogger(Datasets.class);

    private Datasets() {
    }

    /** Training examples and examples kept apart from training (held out, or a test set; possibly none). */
    public record Split(Examples train, Examples heldOut) {
        public Split {
            Objects.requireNonNull(train, "train");
            Objects.requireNonNull(heldOut, "heldOut");
        }
    }

    /**
     * This client's examples, in file order: its {@link DataSpec#partition() partition} (for IDX, of the
     * {@code train-*} files), standardised as the spec says. The last {@link DataSpec#heldOutFraction()} of them
     * are the held-out ones ({@link #loadSplit}); own standardisation statistics come from the others only.
     */
    public static Examples load(DataSpec spec) throws DataException {
        Split s = loadSplit(spec);
        if (s.heldOut().size() == 0) {
            return s.train();
        }
        return concat(s.train(), s.heldOut());
    }

    /** This client's training and held-out examples (see {@link #load}). */
    public static Split loadSplit(DataSpec spec) throws DataException {
        Objects.requireNonNull(spec, "spec");
        Table table = read(spec, true);
        Examples mine = Partition.apply(table.examples(), spec.partition());
        int heldOut = (int) Math.floor(mine.size() * spec.heldOutFraction());
        if (heldOut == mine.size()) {
            throw new DataException(spec.path() + ": partition '" + spec.partition() + "' has " + mine.size()
                    + " examples: none left to train on after holding out " + heldOut);
        }
        Examples train = mine.range(0, mine.size() - heldOut);
        Examples rest = mine.size() == train.size() ? empty(mine) : mine.range(mine.size() - heldOut, mine.size());
        return standardize(spec, table, train, rest);
    }

    /**
     * A training set and a test set for a simulation. IDX data has its own test files ({@code t10k-*}) and
     * {@code testFraction} is not used; any other data keeps a seeded random {@code testFraction} of its examples
     * apart as the test set (the training set stays in file order). Standardisation statistics, unless read from
     * a file, come from the whole training set: in a simulation they stand for statistics the clients share.
     * The spec's partition and held-out fraction are not used (the simulation partitions the training set).
     */
    public static Split trainTest(DataSpec spec, double testFraction, long seed) throws DataException {
        Objects.requireNonNull(spec, "spec");
        if (!(testFraction > 0 && testFraction < 1)) {
            throw new IllegalArgumentException("test fraction must be in (0, 1), got " + testFraction);
        }
        if (format(spec) == DataSpec.Format.IDX) {
            Table train = read(spec, true);
            Table test = read(spec, false);
            return standardize(spec, train, train.examples(), test.examples());
        }
        Table table = read(spec, true);
        Examples all = table.examples();
        int testCount = (int) Math.round(all.size() * testFraction);
        if (testCount < 1 || testCount >= all.size()) {
            throw new DataException(spec.path() + ": " + all.size() + " examples cannot be split into a training set and a "
                    + "test set of " + testFraction);
        }
        int[] order = new int[all.size()];
        Arrays.setAll(order, i -> i);
        Random random = new Random(seed);
        for (int i = order.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        int[] test = Arrays.copyOf(order, testCount);
        int[] train = Arrays.copyOfRange(order, testCount, order.length);
        Arrays.sort(test);
        Arrays.sort(train);
        return standardize(spec, table, all.select(train), all.select(test));
    }

    /** The format {@link DataSpec.Format#AUTO} stands for at this path. */
    public static DataSpec.Format format(DataSpec spec) throws DataException {
        if (spec.format() != DataSpec.Format.AUTO) {
            return spec.format();
        }
        Path path = spec.path();
        if (Files.isDirectory(path)) {
            try (Stream<Path> s = Files.list(path)) {
                List<Path> entries = s.toList();
                if (entries.stream().anyMatch(p -> Files.isRegularFile(p) && p.getFileName().toString().contains("-idx"))) {
                    return DataSpec.Format.IDX;
                }
                if (entries.stream().anyMatch(p -> Files.isDirectory(p) && !p.getFileName().toString().startsWith("."))) {
                    return DataSpec.Format.IMAGES;
                }
            } catch (java.io.IOException e) {
                throw new DataException(path + ": cannot list: " + e.getMessage(), e);
            }
            return DataSpec.Format.IDX; // IdxFiles names the file it misses
        }
        String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".csv") || name.endsWith(".csv.gz")) {
            if (!Files.isRegularFile(path)) {
                throw new DataException(path + ": no such file");
            }
            return DataSpec.Format.CSV;
        }
        if (!Files.exists(path)) {
            String hint = path.equals(IdxFiles.DEBIAN_FASHION_MNIST) ? " (install it with: apt-get install dataset-fashion-mnist)" : "";
            throw new DataException(path + ": no such file or directory" + hint);
        }
        throw new DataException(path + ": cannot tell its format: give a directory of IDX files, a directory of class "
                + "folders, or a .csv/.csv.gz file (or name the format)");
    }

    private static Table read(DataSpec spec, boolean train) throws DataException {
        DataSpec.Format format = format(spec);
        checkOptions(spec, format);
        Table table = switch (format) {
            case IDX -> {
                Examples e = IdxFiles.load(spec.path(), train);
                List<String> names = new ArrayList<>();
                for (int i = 0; i < e.classes(); i++) {
                    names.add(Integer.toString(i));
                }
                yield new Table(e, List.of(), names);
            }
            case CSV -> CsvFiles.read(spec, false);
            case SKLEARN -> CsvFiles.read(spec, true);
            case IMAGES -> ImageFolders.read(spec);
            case AUTO -> throw new IllegalStateException("format decided above");
        };
        log.info("{}: {} examples of shape {}{}", spec.path(), table.examples().size(),
                Arrays.toString(table.examples().shape()), table.examples().isRegression() ? ", regression"
                        : ", " + table.examples().classes() + " classes");
        return table;
    }

    /** Options that only one format reads are refused for the others, rather than silently ignored. */
    private static void checkOptions(DataSpec spec, DataSpec.Format format) throws DataException {
        boolean tabular = format == DataSpec.Format.CSV || format == DataSpec.Format.SKLEARN;
        List<String> wrong = new ArrayList<>();
        if (!tabular) {
            if (spec.labelColumn() != null) {
                wrong.add("label column");
            }
            if (!spec.featureColumns().isEmpty()) {
                wrong.add("feature columns");
            }
            if (spec.csvScale() != 1f) {
                wrong.add("CSV scale");
            }
            if (spec.standardizes()) {
                wrong.add("standardisation (images and IDX are scaled to [0, 1])");
            }
            if (spec.task() == DataSpec.Task.REGRESSION) {
                wrong.add("regression (their labels are classes)");
            }
        }
        if (format != DataSpec.Format.IMAGES && (spec.imageHeight() != 0 || spec.channels() != 0)) {
            wrong.add("image size or channel count");
        }
        if (format == DataSpec.Format.IDX && !spec.classes().isEmpty()) {
            wrong.add("class names");
        }
        if (!wrong.isEmpty()) {
            throw new DataException(spec.path() + ": read as " + format.name().toLowerCase(Locale.ROOT)
                    + " data, which takes no " + String.join(", no ", wrong));
        }
    }

    private static Split standardize(DataSpec spec, Table table, Examples train, Examples heldOut) throws DataException {
        if (!spec.standardizes()) {
            return new Split(train, heldOut);
        }
        Standardizer s;
        if (spec.standardizeStats() != null) {
            s = Standardizer.read(spec.standardizeStats(), table.featureNames());
            log.info("{}: features standardised with the statistics in {}", spec.path(), spec.standardizeStats());
        } else {
            try {
                s = Standardizer.fit(table.featureNames(), train);
            } catch (IllegalArgumentException e) {
                throw new DataException(spec.path() + ": " + e.getMessage(), e);
            }
            log.info("{}: features standardised with this client's own statistics of {} training rows (mean {}, std {})",
                    spec.path(), train.size(), Arrays.toString(s.mean()), Arrays.toString(s.std()));
        }
        return new Split(s.apply(train), heldOut.size() == 0 ? heldOut : s.apply(heldOut));
    }

    private static Examples empty(Examples like) {
        return like.select(new int[0]);
    }

    private static Examples concat(Examples a, Examples b) {
        float[] f = Arrays.copyOf(a.features(), a.features().length + b.features().length);
        System.arraycopy(b.features(), 0, f, a.features().length, b.features().length);
        int[] l = Arrays.copyOf(a.labels(), a.size() + b.size());
        System.arraycopy(b.labels(), 0, l, a.size(), b.size());
        float[] t = null;
        if (a.targets() != null) {
            t = Arrays.copyOf(a.targets(), a.size() + b.size());
            System.arraycopy(b.targets(), 0, t, a.size(), b.size());
        }
        return new Examples(f, l, t, a.shape(), a.classes());
    }
}
