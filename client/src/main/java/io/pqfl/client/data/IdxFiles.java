package io.pqfl.client.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Reads IDX files (the MNIST / Fashion-MNIST format), gzip-compressed or not: unsigned-byte image tensors
 * ({@code 0x00000803}) scaled to [0, 1] and unsigned-byte label vectors ({@code 0x00000801}).
 */
public final class IdxFiles {
    /** The directory Debian's {@code dataset-fashion-mnist} package installs. */
    public static final Path DEBIAN_FASHION_MNIST = Path.of("/usr/share/datasets/fashion-mnist");
    private static final int MAX_ITEMS = 50_000_000;

    private IdxFiles() {
    }

    /** The training or test split of an IDX directory ({@code train-*} / {@code t10k-*} files). */
    public static Examples load(Path dir, boolean train) throws DataException {
        String prefix = train ? "train" : "t10k";
        Path images = find(dir, prefix + "-images-idx3-ubyte");
        Path labels = find(dir, prefix + "-labels-idx1-ubyte");
        float[][] imageData = new float[1][];
        int[] shape = readImages(images, imageData);
        int[] labelData = readLabels(labels);
        if (labelData.length != shape[0]) {
            throw new DataException(labels + ": " + labelData.length + " labels, but " + images + " has " + shape[0] + " images");
        }
        int classes = 0;
        for (int l : labelData) {
            classes = Math.max(classes, l + 1);
        }
        return new Examples(imageData[0], labelData, null, new int[] {1, shape[1], shape[2]}, Math.max(classes, 10));
    }

    private static Path find(Path dir, String base) throws DataException {
        for (String name : new String[] {base + ".gz", base}) {
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        String hint = dir.equals(DEBIAN_FASHION_MNIST) ? " (install it with: apt-get install dataset-fashion-mnist)" : "";
        throw new DataException(dir.resolve(base + ".gz") + ": no such file" + hint);
    }

    private static DataInputStream open(Path file) throws IOException {
        InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        if (file.getFileName().toString().endsWith(".gz")) {
            raw = new BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16);
        }
        return new DataInputStream(raw);
    }

    private static int[] readImages(Path file, float[][] out) throws DataException {
        try (DataInputStream in = open(file)) {
            int magic = in.readInt();
            if (magic != 0x00000803) {
                throw new DataException(file + ": not an IDX image file (magic 0x" + Integer.toHexString(magic) + ")");
            }
            int n = in.readInt();
            int rows = in.readInt();
            int cols = in.readInt();
            if (n <= 0 || rows <= 0 || cols <= 0 || (long) n * rows * cols > MAX_ITEMS * 1000L) {
                throw new DataException(file + ": implausible dimensions " + n + "x" + rows + "x" + cols);
            }
            byte[] pixels = new byte[n * rows * cols];
            in.readFully(pixels);
            float[] f = new float[pixels.length];
            for (int i = 0; i < f.length; i++) {
                f[i] = (pixels[i] & 0xff) / 255f;
            }
            out[0] = f;
            return new int[] {n, rows, cols};
        } catch (EOFException e) {
            throw new DataException(file + ": truncated IDX file", e);
        } catch (IOException e) {
            throw new DataException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static int[] readLabels(Path file) throws DataException {
        try (DataInputStream in = open(file)) {
            int magic = in.readInt();
            if (magic != 0x00000801) {
                throw new DataException(file + ": not an IDX label file (magic 0x" + Integer.toHexString(magic) + ")");
            }
            int n = in.readInt();
            if (n <= 0 || n > MAX_ITEMS) {
                throw new DataException(file + ": implausible label count " + n);
            }
            byte[] raw = new byte[n];
            in.readFully(raw);
            int[] labels = new int[n];
            for (int i = 0; i < n; i++) {
                labels[i] = raw[i] & 0xff;
            }
            return labels;
        } catch (EOFException e) {
            throw new DataException(file + ": truncated IDX file", e);
        } catch (IOException e) {
            throw new DataException(file + ": cannot read: " + e.getMessage(), e);
        }
    }
}
