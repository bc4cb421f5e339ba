package io.pqfl.examples.logreg;

import io.pqfl.trainer.Trainer;
import io.pqfl.trainer.TrainerException;
import io.pqfl.trainer.TrainerFactory;
import io.pqfl.trainer.TrainerOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * The {@code logreg} trainer: softmax regression on a CSV file the trainer reads itself. Registered for
 * {@link java.util.ServiceLoader} in {@code META-INF/services/io.pqfl.trainer.TrainerFactory}, so
 * {@code --trainer-jar logreg-trainer.jar} (with or without {@code --trainer logreg}) finds it.
 *
 * <p>Options ({@code --trainer-option KEY=VALUE}; {@code pqfl client} and {@code pqfl simulate} pass {@code --data},
 * {@code --data-format}, {@code --label-column}, {@code --standardize}, {@code --partition} and
 * {@code --eval-fraction} as the options of the same names):
 * <ul>
 *   <li>{@code data} (required): the CSV file; {@code data-format}: {@code csv} (default) or {@code sklearn};
 *       {@code label-column}: by header name or 1-based position; {@code num-classes}: the number of classes when
 *       a client's file may lack the largest label (default: from the sklearn header, else the largest label + 1)
 *   <li>{@code eval-fraction} (default 0.2): the share of rows held out for evaluation. Rows are shuffled with
 *       {@code shuffle-seed} (default 0, the same for every client) and the last share is held out <em>before</em>
 *       partitioning, so a simulation's evaluator ({@code partition=all}) measures exactly the union of the clients'
 *       held-out rows, none of which any client trained on
 *   <li>{@code partition}: {@code all} (default) or {@code K/N}, every N-th row from the K-th; a simulation also
 *       passes {@code client-index} and {@code clients}, which this trainer does not need
 *   <li>{@code standardize} ({@code true}/{@code false}, default false): scale each feature to mean 0 and standard
 *       deviation 1 with the statistics of this client's own training rows
 *   <li>{@code l2} (default 0): weight decay on {@code weight}
 * </ul>
 */
public final class LogisticRegressionFactory implements TrainerFactory {
    static final Set<String> OPTIONS = Set.of("data", "data-format", "label-column", "num-classes", "eval-fraction",
            "shuffle-seed", "partition", "client-index", "clients", "standardize", "l2");

    @Override
    public String name() {
        return "logreg";
    }

    @Override
    public String description() {
        return "softmax regression on plain float arrays from a CSV file (no DJL)";
    }

    @Override
    public Trainer create(TrainerOptions options) throws TrainerException {
        options.rejectUnknown(OPTIONS);
        Path data = options.getPath("data", null);
        if (data == null) {
            throw new TrainerException("the logreg trainer needs its data: give --data FILE.csv "
                    + "(or --trainer-option data=FILE.csv)");
        }
        String format = options.get("data-format", "csv");
        if (!format.equals("csv") && !format.equals("sklearn") && !format.equals("auto")) {
            throw new TrainerException("the logreg trainer reads data-format csv or sklearn, not '" + format + "'");
        }
        int numClasses = options.getInt("num-classes", 0);
        if (numClasses == 1 || numClasses < 0) {
            throw new TrainerException("num-classes must be at least 2, got " + numClasses);
        }
        double evalFraction = options.getDouble("eval-fraction", 0.2);
        if (!(evalFraction >= 0 && evalFraction < 1)) {
            throw new TrainerException("eval-fraction must be in [0, 1), got " + evalFraction);
        }
        double l2 = options.getDouble("l2", 0);
        if (l2 < 0) {
            throw new TrainerException("l2 must be at least 0, got " + l2);
        }
        boolean standardize = switch (options.get("standardize", "false")) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new TrainerException("standardize must be true or false, got '" + options.get("standardize", "")
                    + "'");
        };
        int[] share = partition(options.get("partition", "all"));

        CsvTable table = CsvTable.read(data, format.equals("sklearn"), options.get("label-column", null), numClasses);
        int[] order = shuffled(table.rows(), options.getInt("shuffle-seed", 0));
        int heldOut = (int) Math.round(table.rows() * evalFraction);
        int trainRows = table.rows() - heldOut;
        LogisticRegressionTrainer.Split train = take(table, order, 0, trainRows, share);
        LogisticRegressionTrainer.Split held = take(table, order, trainRows, table.rows(), share);
        if (train.size() == 0) {
            throw new TrainerException(data + ": partition " + options.get("partition", "all") + " holds no training rows of "
                    + trainRows);
        }
        if (standardize) {
            standardize(train, held, table.featureCount());
        }
        return new LogisticRegressionTrainer(train, held, table.featureCount(), table.classes(), l2);
    }

    /** {@code {k, n}} for {@code K/N}; {@code {0, 1}} for {@code all}. */
    private static int[] partition(String spec) throws TrainerException {
        if (spec.equals("all")) {
            return new int[] {0, 1};
        }
        String[] kn = spec.split("/", -1);
        try {
            if (kn.length == 2) {
                int k = Integer.parseInt(kn[0].trim());
                int n = Integer.parseInt(kn[1].trim());
                if (n >= 1 && k >= 0 && k < n) {
                    return new int[] {k, n};
                }
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new TrainerException("partition must be 'all' or K/N with 0 <= K < N, got '" + spec + "'");
    }

    private static int[] shuffled(int n, long seed) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Random random = new Random(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /** The rows {@code order[from..to)} whose place in that range is K modulo N. */
    private static LogisticRegressionTrainer.Split take(CsvTable table, int[] order, int from, int to, int[] share) {
        List<float[]> x = new ArrayList<>();
        List<Integer> y = new ArrayList<>();
        for (int i = from; i < to; i++) {
            if ((i - from) % share[1] == share[0]) {
                x.add(table.features()[order[i]].clone());
                y.add(table.labels()[order[i]]);
            }
        }
        return new LogisticRegressionTrainer.Split(x.toArray(float[][]::new), y.stream().mapToInt(Integer::intValue).toArray());
    }

    /** Scales both splits with the training split's mean and standard deviation per feature (constant features: 1). */
    private static void standardize(LogisticRegressionTrainer.Split train, LogisticRegressionTrainer.Split held,
                                    int features) {
        double[] mean = new double[features];
        double[] sq = new double[features];
        for (float[] row : train.x()) {
            for (int j = 0; j < features; j++) {
                mean[j] += row[j];
                sq[j] += (double) row[j] * row[j];
            }
        }
        int n = train.size();
        float[] m = new float[features];
        float[] s = new float[features];
        for (int j = 0; j < features; j++) {
            m[j] = (float) (mean[j] / n);
            double variance = Math.max(0, sq[j] / n - (mean[j] / n) * (mean[j] / n));
            s[j] = variance > 1e-12 ? (float) Math.sqrt(variance) : 1f;
        }
        for (LogisticRegressionTrainer.Split split : List.of(train, held)) {
            for (float[] row : split.x()) {
                for (int j = 0; j < features; j++) {
                    row[j] = (row[j] - m[j]) / s[j];
                }
            }
        }
    }
}
