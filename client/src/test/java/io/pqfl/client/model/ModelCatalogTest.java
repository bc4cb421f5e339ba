package io.pqfl.client.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pqfl.protocol.ModelWeights;
import org.junit.jupiter.api.Test;

class ModelCatalogTest {
    @Test
    void catalog_parameterCounts() {
        assertThat(ModelCatalog.MLP.manifest().totalElements()).isEqualTo(101_770);
        assertThat(ModelCatalog.CNN.manifest().totalElements()).isEqualTo(421_642);
        assertThat(ModelCatalog.MLP_LARGE.manifest().totalElements()).isEqualTo(3_716_106);
        assertThat(ModelCatalog.byId("MLP-Large")).isEqualTo(ModelCatalog.MLP_LARGE);
        assertThatThrownBy(() -> ModelCatalog.byId("resnet")).hasMessageContaining("known models: mlp, cnn, mlp-large");
    }

    @Test
    void initialWeights_areSeededAndFinite() {
        ModelWeights a = ModelCatalog.CNN.initialWeights(42);
        assertThat(a.manifest()).isEqualTo(ModelCatalog.CNN.manifest());
        assertThat(a.digest()).isEqualTo(ModelCatalog.CNN.initialWeights(42).digest());
        assertThat(a.digest()).isNotEqualTo(ModelCatalog.CNN.initialWeights(43).digest());
        assertThat(a.firstNonFiniteTensor()).isEqualTo(-1);
        assertThat(a.tensor(1)).containsOnly(0f);
    }
}
