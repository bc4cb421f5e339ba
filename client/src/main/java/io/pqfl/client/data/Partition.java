package io.pqfl.client.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Which examples of a shared dataset a client trains on: {@code all}, an index range {@code 1000-1999}, a
 * stride {@code 3/8} (every example i with i mod 8 = 3: an IID split into 8), or {@code @FILE} with one
 * index per line (written by the simulation harness for non-IID splits).
 */
public final class Partition {
    private Partition() {
    }

    public static Examples apply(Examples data, String spec) throws DataException {
        String s = spec.trim().toLowerCase(Locale.ROOT);
        try {
            if (s.equals("all")) {
                return data;
            }
            if (s.startsWith("@")) {
                Path file = Path.of(spec.trim().substring(1));
                int[] idx;
                try {
                    idx = Files.readAllLines(file).stream().map(String::trim).filter(l -> !l.isEmpty())
                            .mapToInt(Integer::parseInt).toArray();
                } catch (IOException e) {
                    throw new DataException(file + ": cannot read partition file: " + e.getMessage(), e);
                }
                if (idx.length == 0) {
                    throw new DataException(file + ": empty partition");
                }
                return data.select(idx);
            }
            if (s.contains("/")) {
                String[] p = s.split("/");
                int k = Integer.parseInt(p[0]);
                int n = Integer.parseInt(p[1]);
                if (n < 1 || k < 0 || k >= n) {
                    throw new DataException("partition '" + spec + "': need 0 <= k < n in k/n");
                }
                int count = (data.size() - k + n - 1) / n;
                int[] idx = new int[count];
                for (int i = 0; i < count; i++) {
                    idx[i] = k + i * n;
                }
                return data.select(idx);
            }
            if (s.contains("-")) {
                String[] p = s.split("-");
                int from = Integer.parseInt(p[0]);
                int to = Integer.parseInt(p[1]) + 1;
                if (from < 0 || to > data.size() || from >= to) {
                    throw new DataException("partition '" + spec + "': range outside 0-" + (data.size() - 1));
                }
                return data.range(from, to);
            }
        } catch (NumberFormatException e) {
            // fall through to the error below
        } catch (IllegalArgumentException e) {
            throw new DataException("partition '" + spec + "': " + e.getMessage(), e);
        }
        throw new DataException("bad partition '" + spec + "': use all, FROM-TO, K/N or @FILE");
    }
}
