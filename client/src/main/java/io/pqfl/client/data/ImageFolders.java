package io.pqfl.client.data;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a directory with one sub-folder of images per class ({@code data/cat/1.png}, {@code data/dog/7.jpg}): the
 * class index is the folder's place in sorted name order (or in the class list given), every image is decoded with
 * {@code javax.imageio} (PNG, JPEG, BMP, GIF, WBMP), resized bilinearly to one size, converted to grey (ITU-R BT.601
 * luma) or RGB, scaled to [0, 1] and laid out as [channels, height, width]. Transparent pixels count as black.
 * Hidden files (and {@code Thumbs.db}, {@code desktop.ini}) are ignored; any other file that is not a readable image
 * is an error naming it.
 */
final class ImageFolders {
    private static final Logger log = LoggerFactory.getLogger(ImageFolders.class);
    /** Pixels of the largest image decoded (a 64-megapixel photo); bigger ones are refused before decoding. */
    static final long MAX_PIXELS = 64L << 20;
    private static final long MAX_VALUES = Integer.MAX_VALUE - 8L;
    private static final Set<String> IGNORED = Set.of("thumbs.db", "desktop.ini");

    private ImageFolders() {
    }

    static Table read(DataSpec spec) throws DataException {
        Path dir = spec.path();
        List<Path> folders = list(dir, true);
        if (folders.isEmpty()) {
            throw new DataException(dir + ": no class folders (expected one sub-folder of images per class)");
        }
        List<String> classNames = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        List<Integer> classOfFile = new ArrayList<>();
        if (!spec.classes().isEmpty()) {
            classNames.addAll(spec.classes());
        }
        for (Path folder : folders) {
            String name = folder.getFileName().toString();
            int index;
            if (spec.classes().isEmpty()) {
                index = classNames.size();
                classNames.add(name);
            } else {
                index = spec.classes().indexOf(name);
                if (index < 0) {
                    throw new DataException(folder + ": folder '" + name + "' is not one of the classes given: "
                            + CsvFiles.abbreviate(String.join(", ", spec.classes())));
                }
            }
            List<Path> images = list(folder, false);
            if (images.isEmpty()) {
                throw new DataException(folder + ": empty class folder (no images for class '" + name + "')");
            }
            for (Path image : images) {
                files.add(image);
                classOfFile.add(index);
            }
        }
        int height = spec.imageHeight();
        int width = spec.imageWidth();
        int channels = spec.channels();
        if (height == 0 || channels == 0) {
            BufferedImage first = decode(files.get(0));
            if (height == 0) {
                height = first.getHeight();
                width = first.getWidth();
                if (height > DataSpec.MAX_IMAGE_SIDE || width > DataSpec.MAX_IMAGE_SIDE) {
                    throw new DataException(files.get(0) + ": " + width + "x" + height + " pixels is too large to train "
                            + "on as is; give an image size (HxW) of at most " + DataSpec.MAX_IMAGE_SIDE + " a side");
                }
            }
            if (channels == 0) {
                channels = first.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_GRAY ? 1 : 3;
            }
        }
        long perImage = (long) channels * height * width;
        if (perImage * files.size() > MAX_VALUES) {
            throw new DataException(dir + ": " + files.size() + " images of " + channels + "x" + height + "x" + width
                    + " values are more than one client can hold in memory; give a smaller image size");
        }
        float[] features = new float[(int) (perImage * files.size())];
        int[] labels = new int[files.size()];
        for (int i = 0; i < files.size(); i++) {
            BufferedImage rgb = resize(toRgb(decode(files.get(i))), width, height);
            write(rgb, channels, features, (int) (i * perImage));
            labels[i] = classOfFile.get(i);
        }
        log.info("{}: {} images, {} classes {}, as {}x{}x{}", dir, files.size(), classNames.size(), classNames, channels,
                height, width);
        return new Table(new Examples(features, labels, null, new int[] {channels, height, width}, classNames.size()),
                List.of(), classNames);
    }

    /** The sub-folders (or the files) of {@code dir}, sorted by name, hidden ones left out. */
    private static List<Path> list(Path dir, boolean folders) throws DataException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> !p.getFileName().toString().startsWith("."))
                    .filter(p -> !IGNORED.contains(p.getFileName().toString().toLowerCase(java.util.Locale.ROOT)))
                    .filter(p -> folders == Files.isDirectory(p))
                    .sorted().toList();
        } catch (IOException e) {
            throw new DataException(dir + ": cannot list: " + e.getMessage(), e);
        }
    }

    /** Decodes one image, checking its size from its header before the pixels are decoded. */
    static BufferedImage decode(Path file) throws DataException {
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                throw new DataException(file + ": not an image Java can read (PNG, JPEG, BMP, GIF, WBMP)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                long pixels = (long) reader.getWidth(0) * reader.getHeight(0);
                if (pixels > MAX_PIXELS) {
                    throw new DataException(file + ": " + reader.getWidth(0) + "x" + reader.getHeight(0) + " pixels, more "
                            + "than the " + MAX_PIXELS + " this reader decodes");
                }
                BufferedImage image = reader.read(0);
                if (image == null) {
                    throw new DataException(file + ": the image decodes to nothing");
                }
                return image;
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            throw new DataException(file + ": unreadable image: " + e.getMessage(), e);
        }
    }

    /**
     * The image as 8-bit sRGB. Grey images are copied sample by sample: drawing them onto an RGB image would
     * apply Java's linear-grey-to-sRGB conversion and brighten them.
     */
    private static BufferedImage toRgb(BufferedImage image) {
        if (image.getType() == BufferedImage.TYPE_INT_RGB) {
            return image;
        }
        BufferedImage rgb = new BufferedImage(image.getWidth(), image.getHeight(), BufferedImage.TYPE_INT_RGB);
        if (image.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_GRAY) {
            Raster r = image.getRaster();
            int bits = r.getSampleModel().getSampleSize(0);
            double max = (1L << bits) - 1;
            for (int y = 0; y < image.getHeight(); y++) {
                for (int x = 0; x < image.getWidth(); x++) {
                    int g = (int) Math.round(r.getSample(x, y, 0) * 255.0 / max);
                    rgb.setRGB(x, y, (g << 16) | (g << 8) | g);
                }
            }
            return rgb;
        }
        Graphics2D g = rgb.createGraphics();
        try {
            g.drawImage(image, 0, 0, null);
        } finally {
            g.dispose();
        }
        return rgb;
    }

    private static BufferedImage resize(BufferedImage image, int width, int height) {
        if (image.getWidth() == width && image.getHeight() == height) {
            return image;
        }
        BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
            g.drawImage(image, 0, 0, width, height, null);
        } finally {
            g.dispose();
        }
        return out;
    }

    /** Planar [C, H, W] values in [0, 1] at {@code offset}. */
    private static void write(BufferedImage rgb, int channels, float[] out, int offset) {
        int w = rgb.getWidth();
        int h = rgb.getHeight();
        int plane = w * h;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int p = rgb.getRGB(x, y);
                int r = (p >> 16) & 0xff;
                int g = (p >> 8) & 0xff;
                int b = p & 0xff;
                int at = offset + y * w + x;
                if (channels == 1) {
                    out[at] = (float) ((0.299 * r + 0.587 * g + 0.114 * b) / 255.0);
                } else {
                    out[at] = r / 255f;
                    out[at + plane] = g / 255f;
                    out[at + 2 * plane] = b / 255f;
                }
            }
        }
    }
}
