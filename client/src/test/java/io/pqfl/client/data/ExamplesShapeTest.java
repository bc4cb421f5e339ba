package io.pqfl.client.data;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ExamplesShapeTest {
    @Test
    void requireShape_namesBothShapes() {
        Examples e = new Examples(new float[784 * 2], new int[2], null, new int[] {1, 28, 28}, 10);
        assertThatCode(() -> e.requireShape(new int[] {1, 28, 28}, "model cnn")).doesNotThrowAnyException();
        assertThatThrownBy(() -> e.requireShape(new int[] {30}, "model tabular-mlp")).isInstanceOf(DataException.class)
                .hasMessage("model tabular-mlp expects examples of shape [30], but the data's examples have shape [1, 28, 28]");
        assertThatThrownBy(() -> e.requireShape(new int[] {784}, "model mlp"))
                .hasMessageEndingWith("(the same number of values, laid out differently)");
    }
}
