package io.pqfl.client;

import io.pqfl.client.data.DataException;
import io.pqfl.client.data.Examples;
import io.pqfl.client.data.IdxFiles;

/** Fashion-MNIST from Debian's dataset-fashion-mnist package (.ci/run installs it), loaded once per JVM. */
public final class FashionMnist {
    private static Examples train;
    private static Examples test;

    private FashionMnist() {
    }

    public static synchronized Examples train() throws DataException {
        if (train == null) {
            train = IdxFiles.load(IdxFiles.DEBIAN_FASHION_MNIST, true);
        }
        return train;
    }

    public static synchronized Examples test() throws DataException {
        if (test == null) {
            test = IdxFiles.load(IdxFiles.DEBIAN_FASHION_MNIST, false);
        }
        return test;
    }
}
