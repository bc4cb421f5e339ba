package io.pqfl.client.train;

/**
 * A TorchScript file that pqfl cannot load or cannot train through DJL. The message names the file and what
 * is wrong with it (a buffer, a parameter's dtype, an input shape the module refuses, ...) and, where DJL is
 * the obstacle, the alternative: export the weights as safetensors and train a DJL {@code Block} instead.
 */
public final class TorchScriptException extends Exception {
    private static final long serialVersionUID = 1L;

    public TorchScriptException(String message) {
        super(message);
    }

    public TorchScriptException(String message, Throwable cause) {
        super(message, cause);
    }
}
