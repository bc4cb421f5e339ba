"""The NumPy hook: the default MLP's gradients, Delta results, partitions, and a few steps on Fashion-MNIST."""
import os
import unittest

import numpy as np

import support  # noqa: F401
from pqfl_client import training
from pqfl_client.training import Delta, TrainConfig

HAVE_DATA = os.path.exists(os.path.join(training.FASHION_MNIST, "train-images-idx3-ubyte.gz"))


def config(**kw):
    base = dict(round=1, local_epochs=1, batch_size=32, learning_rate=0.1, proximal_mu=0.0, optimizer="sgd",
                deadline_unix_ms=0, model_round=0, seed=0)
    base.update(kw)
    return TrainConfig(**base)


def small_mlp(rng):
    return {"fc1.weight": rng.standard_normal((128, 784)).astype(np.float32) * 0.05,
            "fc1.bias": rng.standard_normal(128).astype(np.float32) * 0.05,
            "fc2.weight": rng.standard_normal((10, 128)).astype(np.float32) * 0.05,
            "fc2.bias": np.zeros(10, np.float32)}


class TestHookResults(unittest.TestCase):
    def test_delta_is_added_and_weights_pass_through(self):
        g = {"a": np.ones(3, np.float32)}
        np.testing.assert_array_equal(training.apply_result(g, Delta({"a": np.full(3, 0.5)}))["a"], [1.5] * 3)
        np.testing.assert_array_equal(training.apply_result(g, {"a": [2, 2, 2]})["a"], [2] * 3)
        with self.assertRaisesRegex(ValueError, "missing"):
            training.apply_result(g, Delta({}))
        with self.assertRaises(TypeError):
            training.apply_result(g, [1, 2, 3])

    def test_partitions(self):
        self.assertEqual(list(training.partition_indices("2-4", 10)), [2, 3, 4])
        self.assertEqual(list(training.partition_indices("1/4", 10)), [1, 5, 9])
        self.assertEqual(len(training.partition_indices("all", 10)), 10)
        for bad in ("5-2", "4/4", "x", "0-10"):
            with self.assertRaises(ValueError):
                training.partition_indices(bad, 10)


class TestMlp(unittest.TestCase):
    def test_gradients_match_finite_differences(self):
        rng = np.random.default_rng(0)
        w = {k: v.astype(np.float64) for k, v in small_mlp(rng).items()}
        x, y = rng.random((5, 784)), rng.integers(0, 10, 5)
        _, grads = training.mlp_loss_and_grads(w, x, y)
        for name, idx in (("fc1.weight", (3, 100)), ("fc1.bias", (7,)), ("fc2.weight", (2, 5)), ("fc2.bias", (4,))):
            w2 = {k: v.copy() for k, v in w.items()}
            w2[name][idx] += 1e-6
            up, _ = training.mlp_loss_and_grads(w2, x, y)
            w2[name][idx] -= 2e-6
            down, _ = training.mlp_loss_and_grads(w2, x, y)
            self.assertAlmostEqual((up - down) / 2e-6, grads[name][idx], places=5, msg=name)

    @unittest.skipUnless(HAVE_DATA, "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
    def test_default_hook_learns(self):
        hook = training.FashionMnistMLP(partition="0-1999", eval_fraction=0.25, seed=1)
        self.assertEqual((len(hook.y_train), len(hook.y_eval)), (1500, 500))
        w0 = small_mlp(np.random.default_rng(2))
        loss0, n0, _ = hook.evaluate(w0, config(evaluate=True))
        for opt, lr in (("sgd", 0.1), ("adam", 0.001)):
            w1, n, metrics = hook.train({k: v.copy() for k, v in w0.items()},
                                        config(optimizer=opt, learning_rate=lr, proximal_mu=0.01))
            self.assertEqual(n, 1500)
            self.assertEqual(set(w1), set(w0))
            self.assertTrue(all(w1[k].dtype == np.float32 and w1[k].shape == w0[k].shape for k in w0))
            loss1, _, m1 = hook.evaluate(w1, config(evaluate=True))
            self.assertLess(loss1, loss0, opt)
            self.assertGreater(m1["accuracy"], 0.5, opt)
            self.assertEqual(set(metrics), {"loss", "train_millis", "eval_loss", "eval_accuracy", "eval_examples"})

    @unittest.skipUnless(HAVE_DATA, "Fashion-MNIST not installed")
    def test_default_hook_refuses_another_model(self):
        hook = training.FashionMnistMLP(partition="0-99")
        with self.assertRaisesRegex(ValueError, "pqfl's 'mlp'"):
            hook.train({"w": np.zeros((2, 2), np.float32)}, config())


if __name__ == "__main__":
    unittest.main()
