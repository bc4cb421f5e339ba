package io.pqfl.client.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Image folders: one sub-folder per class, any size and channel count, resized and converted. */
class ImageFolderDataTest {
    @TempDir
    Path dir;

    private Path image(String folder, String name, int w, int h, int type, int rgb) throws IOException {
        BufferedImage img = new BufferedImage(w, h, type);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, rgb);
            }
        }
        Path p = dir.resolve(folder).resolve(name);
        Files.createDirectories(p.getParent());
        String format = name.substring(name.lastIndexOf('.') + 1);
        assertThat(ImageIO.write(img, format, p.toFile())).isTrue();
        return p;
    }

    private Path grey(String folder, String name, int w, int h, int value) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.getRaster().setSample(x, y, 0, value);
            }
        }
        Path p = dir.resolve(folder).resolve(name);
        Files.createDirectories(p.getParent());
        ImageIO.write(img, "png", p.toFile());
        return p;
    }

    @Test
    void classesAreSortedFolderNames_imagesResizedAndConverted() throws Exception {
        image("dog", "a.png", 8, 6, BufferedImage.TYPE_INT_RGB, 0xff0000);
        image("cat", "b.jpg", 30, 20, BufferedImage.TYPE_INT_RGB, 0x0000ff);
        image("cat", "a.png", 4, 4, BufferedImage.TYPE_INT_ARGB, 0xff00ff00);
        Examples e = Datasets.load(DataSpec.builder(dir).imageSize(3, 5).channels(3).build());
        assertThat(e.size()).isEqualTo(3);
        assertThat(e.shape()).containsExactly(3, 3, 5);
        assertThat(e.classes()).isEqualTo(2);
        assertThat(e.labels()).containsExactly(0, 0, 1); // cat/a.png, cat/b.jpg, dog/a.png
        int plane = 15;
        float[] f = e.features();
        // cat/a.png is green: channel 1 is 1, channels 0 and 2 are 0
        assertThat(f[0]).isZero();
        assertThat(f[plane]).isEqualTo(1f);
        assertThat(f[2 * plane]).isZero();
        // cat/b.jpg is blue (JPEG: nearly)
        assertThat(f[45 + 2 * plane]).isCloseTo(1f, within(0.05f));
        // dog/a.png is red
        assertThat(f[90]).isEqualTo(1f);
        assertThat(f[90 + plane]).isZero();
    }

    @Test
    void defaults_areTheFirstImagesSizeAndChannels_greyKeepsItsValues() throws Exception {
        grey("0", "x.png", 7, 5, 128);
        image("1", "y.png", 3, 3, BufferedImage.TYPE_INT_RGB, 0xffffff);
        Examples e = Datasets.load(DataSpec.of(dir));
        assertThat(e.shape()).containsExactly(1, 5, 7);
        assertThat(e.features()[0]).isEqualTo(128 / 255f); // no gamma shift from colour conversion
        assertThat(e.features()[35]).isCloseTo(1f, within(1e-5f));
    }

    @Test
    void rgbToGrey_usesLuma() throws Exception {
        image("a", "r.png", 2, 2, BufferedImage.TYPE_INT_RGB, 0xff0000);
        Examples e = Datasets.load(DataSpec.builder(dir).format(DataSpec.Format.IMAGES).channels(1).build());
        assertThat(e.shape()).containsExactly(1, 2, 2);
        assertThat(e.features()[0]).isCloseTo(0.299f, within(1e-4f));
    }

    @Test
    void anUnreadableImage_isAnErrorNamingTheFile() throws Exception {
        image("a", "ok.png", 2, 2, BufferedImage.TYPE_INT_RGB, 0);
        Path bad = dir.resolve("b").resolve("broken.png");
        Files.createDirectories(bad.getParent());
        Files.write(bad, new byte[] {1, 2, 3, 4});
        assertThatThrownBy(() -> Datasets.load(DataSpec.of(dir))).isInstanceOf(DataException.class)
                .hasMessage(bad + ": not an image Java can read (PNG, JPEG, BMP, GIF, WBMP)");
        Path truncated = dir.resolve("b").resolve("broken.png");
        byte[] png = Files.readAllBytes(dir.resolve("a").resolve("ok.png"));
        Files.write(truncated, java.util.Arrays.copyOf(png, 40));
        assertThatThrownBy(() -> Datasets.load(DataSpec.of(dir))).hasMessageStartingWith(truncated + ": unreadable image");
    }

    @Test
    void anEmptyClassFolder_isAnErrorNamingTheFolder_hiddenFilesAreIgnored() throws Exception {
        image("a", "ok.png", 2, 2, BufferedImage.TYPE_INT_RGB, 0);
        Files.createDirectories(dir.resolve("b"));
        Files.writeString(dir.resolve("b").resolve(".DS_Store"), "x");
        assertThatThrownBy(() -> Datasets.load(DataSpec.of(dir)))
                .hasMessage(dir.resolve("b") + ": empty class folder (no images for class 'b')");
    }

    @Test
    void givenClasses_numberTheFolders() throws Exception {
        image("b", "x.png", 2, 2, BufferedImage.TYPE_INT_RGB, 0);
        Examples e = Datasets.load(DataSpec.builder(dir).classes(List.of("a", "b", "c")).build());
        assertThat(e.labels()).containsExactly(1);
        assertThat(e.classes()).isEqualTo(3);
        image("z", "x.png", 2, 2, BufferedImage.TYPE_INT_RGB, 0);
        assertThatThrownBy(() -> Datasets.load(DataSpec.builder(dir).classes(List.of("a", "b")).build()))
                .hasMessageContaining("folder 'z' is not one of the classes given: a, b");
    }

    @Test
    void absurdSizes_areRefused() throws Exception {
        assertThatThrownBy(() -> DataSpec.builder(dir).imageSize(100_000, 100_000).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1..4096");
        image("a", "wide.png", 5000, 1, BufferedImage.TYPE_BYTE_GRAY, 0);
        assertThatThrownBy(() -> Datasets.load(DataSpec.of(dir))).hasMessageContaining("too large to train on as is");
        assertThat(Datasets.load(DataSpec.builder(dir).imageSize(1, 50).build()).shape()).containsExactly(1, 1, 50);
    }

    @Test
    void csvOptions_onImages_areRefused() throws Exception {
        image("a", "x.png", 2, 2, BufferedImage.TYPE_INT_RGB, 0);
        assertThatThrownBy(() -> Datasets.load(DataSpec.builder(dir).labelColumn("y").standardize(true).build()))
                .hasMessage(dir + ": read as images data, which takes no label column, no standardisation (images and IDX are scaled to [0, 1])");
    }
}
