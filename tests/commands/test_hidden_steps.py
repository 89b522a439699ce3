"""Printed models whose forward does what the print cannot show: never a confident wrong
answer. Each hidden step is a named hypothesis; exactly one that fits is stated and marked,
several are exit 3, none is exit 2 with each candidate's numbers.

Golden values come from PyTorch 2.14 / torchvision 0.29 (running the models named below)
and from the layer formulas of docs/formulas.md section 2, derived in each test.
"""

from __future__ import annotations

from tests.conftest import ROOT, assert_clean_error, conv_json, invoke

MODELS = ROOT / "examples" / "models"


_json = conv_json


def test_the_60_minute_blitz_lenet_pools_in_forward() -> None:
    # PyTorch's tutorial calls F.max_pool2d(F.relu(self.convN(x)), 2) after both
    # convolutions: 32 -> conv 28 -> pool 14 -> conv 10 -> pool 5, 16 x 5 x 5 = 400 = fc1's
    # in_features. PyTorch: output torch.Size([1, 10]), 61,706 parameters.
    net = str(MODELS / "lenet_tutorial.txt")
    result = invoke(["conv-shape", "--net", net, "--input", "32x32"])
    assert result.exit_code == 0 and result.stdout == "1x10\n"
    assert "2x2 max-pool after each convolution" in result.stderr
    data = _json(["--net", net, "--input", "32x32"])
    assert data["params"] == 61_706 and data["inferred"]
    layers = data["layers"]
    assert isinstance(layers, list)
    pools = [x for x in layers if x.get("op") == "F.max_pool2d"]
    assert [x["output_shape"] for x in pools] == [[1, 6, 14, 14], [1, 16, 5, 5]]
    assert all("max-pool" in x["inferred"] for x in pools)
    table = invoke(["conv-shape", "--net", net, "--input", "32x32", "--format", "table"])
    assert "F.max_pool2d (inferred)" in table.stdout


def test_the_cifar10_tutorial_net_reuses_its_one_pool() -> None:
    # forward: pool(relu(conv1(x))), pool(relu(conv2(x))): 32 -> 28 -> 14 -> 10 -> 5.
    # PyTorch with a batch of 4: torch.Size([4, 10]); 62,006 parameters.
    net = str(MODELS / "cifar10_tutorial.txt")
    result = invoke(["conv-shape", "--net", net, "--input", "32x32", "--batch", "4"])
    assert result.exit_code == 0 and result.stdout == "4x10\n"
    assert "pool (MaxPool2d) after each convolution block" in result.stderr
    data = _json(["--net", net, "--input", "32x32", "--batch", "4"])
    layers = data["layers"]
    assert isinstance(layers, list)
    pools = [x for x in layers if x["name"] == "pool"]
    assert [x["output_shape"] for x in pools] == [[4, 6, 14, 14], [4, 16, 5, 5]]
    assert "inferred" not in pools[0] and "reused" in pools[1]["inferred"]
    assert data["params"] == 62_006


def test_no_reading_fits_names_each_candidate_with_its_numbers() -> None:
    # at 64x64 the reused pool leaves 16x13x13 = 2704; PyTorch accepts 32 to 35 only
    # (the tutorial Net run at every size from 20 to 49)
    net = str(MODELS / "cifar10_tutorial.txt")
    err = assert_clean_error(invoke(["conv-shape", "--net", net, "--input", "64x64"]))
    assert "(in the printed order)" in err and "set in_features=10816" in err
    assert "receives 2704" in err and "inputs 32 to 35" in err


RESNET18_FIXED_POOL = (
    (MODELS / "resnet18.txt")
    .read_text()
    .replace(
        "(avgpool): AdaptiveAvgPool2d(output_size=(1, 1))",
        "(avgpool): AvgPool2d(kernel_size=7, stride=1, padding=0)",
    )
)


def test_no_global_pool_is_assumed_after_a_fixed_kernel_pool() -> None:
    # torchvision's resnet18 with avgpool = nn.AvgPool2d(7, stride=1): at 244x244 layer4
    # gives 512x8x8, the pool 512x2x2 = 2048, and PyTorch raises "mat1 and mat2 shapes
    # cannot be multiplied (1x2048 and 512x1000)"; it runs for inputs 193 to 224 exactly
    # (PyTorch, every size from 150 to 259)
    err = assert_clean_error(
        invoke(["conv-shape", "--net", "-", "--input", "244x244"], RESNET18_FIXED_POOL)
    )
    assert "fc: Linear expects in_features=512 but receives 2048" in err
    assert "inputs 193 to 224" in err and "AdaptiveAvgPool2d" in err
    fits = invoke(["conv-shape", "--net", "-", "--input", "224x224"], RESNET18_FIXED_POOL)
    assert fits.exit_code == 0 and fits.stdout == "1x1000\n"


def test_a_flatten_that_is_the_only_reading_is_a_note() -> None:
    # resnet18: 512x1x1 flattened to 512 before fc, no other reading fits
    data = _json(["--net", str(MODELS / "resnet18.txt"), "--input", "224x224"])
    assert data["warnings"] == [] and data["inferred"] == []
    notes = data["notes"]
    assert isinstance(notes, list) and "flattened to 512" in notes[0]


ACTOR_CRITIC = """ActorCritic(
  (conv1): Conv2d(4, 32, kernel_size=(8, 8), stride=(4, 4))
  (conv2): Conv2d(32, 64, kernel_size=(4, 4), stride=(2, 2))
  (conv3): Conv2d(64, 64, kernel_size=(3, 3), stride=(1, 1))
  (fc): Linear(in_features=3136, out_features=512, bias=True)
  (actor): Linear(in_features=512, out_features=6, bias=True)
  (critic): Linear(in_features=512, out_features=1, bias=True)
)
"""


def test_heads_that_branch_from_an_earlier_layer() -> None:
    # 84 -> (84-8)/4+1 = 20 -> (20-4)/2+1 = 9 -> 7: 64x7x7 = 3136; actor and critic both
    # read fc's 512 outputs: forward returns (1x6, 1x1)
    data = _json(["--net", "-", "--input", "84x84"], ACTOR_CRITIC)
    assert data["output_shape"] == [[1, 6], [1, 1]]
    inferred = data["inferred"]
    assert isinstance(inferred, list) and "critic branches from fc" in inferred[0]


UNET_STEP = """Up(
  (down): Conv2d(8, 16, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))
  (up): ConvTranspose2d(16, 4, kernel_size=(2, 2), stride=(2, 2))
  (conv): Conv2d(12, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
)
"""


def test_a_concatenation_with_an_earlier_output() -> None:
    # 8x32x32 -> down 16x16x16 -> up 4x32x32; conv declares 12 channels: torch.cat of up's
    # output with the 8x32x32 input gives them (leaving up out would give 16, not 12)
    data = _json(["--net", "-", "--input", "32x32", "--in-channels", "8"], UNET_STEP)
    assert data["output_shape"] == [1, 8, 32, 32]
    layers = data["layers"]
    assert isinstance(layers, list)
    cat = next(x for x in layers if x.get("op") == "torch.cat")
    assert cat["output_shape"] == [1, 12, 32, 32] and "the input" in cat["inferred"]


TWO_READINGS = """Net(
  (conv1): Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1))
  (extra_a): Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1))
  (extra_b): Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1))
  (fc): Linear(in_features=512, out_features=10, bias=True)
)
"""


def test_several_readings_that_fit_are_undecided() -> None:
    # 12 -> 10 -> 8 -> 6: 8x6x6 = 288, fc declares 512 = 8x8x8: leaving out extra_a or
    # extra_b fits equally, so hw3 cannot decide (exit 3) and names both
    err = assert_clean_error(
        invoke(["conv-shape", "--net", "-", "--input", "12x12"], TWO_READINGS), 3
    )
    assert "extra_a is defined but never called" in err
    assert "extra_b is defined but never called" in err


def test_inside_a_sequential_the_single_fix_stands() -> None:
    # no code runs between a Sequential's children: no hidden step could change 4608
    err = assert_clean_error(
        invoke(["conv-shape", "--net", str(MODELS / "emotion_cnn_broken.txt"), "--input", "48x48"])
    )
    assert "set in_features=4608" in err and "hidden forward step" not in err


def test_expect_takes_the_output_shape_with_or_without_the_batch() -> None:
    net = str(MODELS / "resnet18.txt")
    for shape in ("1x1000", "1000"):
        ok = invoke(["conv-shape", "--net", net, "--input", "224x224", "--expect", shape])
        assert ok.exit_code == 0, ok.stderr
    bad = invoke(["conv-shape", "--net", net, "--input", "224x224", "--expect", "1x10", "-q"])
    assert bad.exit_code == 1 and "expected 1x10, computed 1x1000" in bad.stderr


def test_min_input_of_a_model_and_its_bounded_range() -> None:
    # the emotion CNN: three 2x2 pools then Linear(4608) = 128x6x6, so 48 to 55 only
    # (48 // 8 = 55 // 8 = 6); resnet18 (adaptive pool) takes any size from 1 up, as
    # torchvision's does (conv1 7x7 s2 p3 on 1 pixel gives 1)
    data = conv_json(["--net", str(MODELS / "emotion_cnn.txt"), "--min-input"])
    assert (data["min_input"], data["max_input"]) == ([48, 48], [55, 55])
    open_ended = conv_json(["--net", str(MODELS / "resnet18.txt"), "--min-input"])
    assert (open_ended["min_input"], open_ended["max_input"]) == ([1, 1], None)
    # the CIFAR-10 tutorial Net at --input 32 settles its reading: 32 to 35 (PyTorch)
    net = str(MODELS / "cifar10_tutorial.txt")
    cifar = conv_json(["--net", net, "--input", "32", "--min-input"])
    assert (cifar["min_input"], cifar["max_input"]) == ([32, 32], [35, 35])
    assert cifar["inferred"]
    # without --input, the printed order (22 to 23) and the reused pool (32 to 35) differ
    err = assert_clean_error(invoke(["conv-shape", "--net", net, "--min-input"]), 3)
    assert "22 to 23" in err and "32 to 35" in err


def test_a_full_shape_input_and_a_wrong_rank() -> None:
    net = str(MODELS / "resnet18.txt")
    for size in ("1x3x224x224", "3x224x224", "224x224", "224"):
        result = invoke(["conv-shape", "--net", net, "--input", size])
        assert result.stdout == "1x1000\n", (size, result.stderr)
    batch = invoke(["conv-shape", "--net", net, "--input", "8x3x64x64"])
    assert batch.stdout == "8x1000\n"
    err = assert_clean_error(invoke(["conv-shape", "--net", net, "--input", "2x1x3x224x224"]))
    assert "--input: 5 numbers" in err and "2 spatial axes" in err
    err = assert_clean_error(invoke(["conv-shape", "--net", net, "--input", "1x224x224"]))
    assert "1 channel" in err and "takes 3" in err


def test_a_unet_concatenates_each_skip() -> None:
    # milesial's Pytorch-UNet (UNet(3, 2)): each Up block's forward is
    # conv(torch.cat([x2, up(x1)], 1)) with x2 the encoder's output at that size.
    # PyTorch at 1x3x256x256: output torch.Size([1, 2, 256, 256]), 31,037,698 parameters
    data = conv_json(["--net", str(MODELS / "unet.txt"), "--input", "256"])
    assert data["output_shape"] == [1, 2, 256, 256] and data["params"] == 31_037_698
    layers = data["layers"]
    assert isinstance(layers, list)
    cats = [x["output_shape"] for x in layers if x.get("op") == "torch.cat"]
    assert cats == [[1, 1024, 32, 32], [1, 512, 64, 64], [1, 256, 128, 128], [1, 128, 256, 256]]
    inferred = data["inferred"]
    assert isinstance(inferred, list) and "down3" in inferred[0]


def test_the_pytorch_mnist_example_pools_once_after_its_last_convolution() -> None:
    # pytorch/examples mnist/main.py: relu(conv1), relu(conv2), F.max_pool2d(x, 2), then
    # flatten: 28 -> 26 -> 24 -> 12, 64 x 12 x 12 = 9216 = fc1's in_features. A pool after
    # each convolution would give 64 x 5 x 5 = 1600: only the one after conv2 fits.
    # Parameters by hand: 320 + 18,496 + 1,179,776 + 1,290 = 1,199,882
    data = conv_json(["--net", str(MODELS / "mnist_example.txt"), "--input", "28"])
    assert data["output_shape"] == [1, 10] and data["params"] == 1_199_882
    inferred = data["inferred"]
    assert isinstance(inferred, list) and "after the last convolution block (conv2)" in inferred[0]


def test_a_wrong_channel_count_deep_in_a_block_gets_the_single_fix() -> None:
    # no hidden step at the top level changes the 256 channels layer3.0.conv2 receives:
    # the hypotheses that break earlier or in the same way are no candidates
    text = (MODELS / "resnet18.txt").read_text()
    broken = text.replace(
        "(conv2): Conv2d(256, 256, kernel_size=(3, 3)",
        "(conv2): Conv2d(250, 256, kernel_size=(3, 3)",
        1,
    )
    err = assert_clean_error(invoke(["conv-shape", "--net", "-", "--input", "224"], broken))
    assert "layer3.0.conv2: Conv2d expects 250 input channels" in err
    assert "set in_channels=256" in err and "hidden forward step" not in err


def test_a_cifar_resnet_with_empty_shortcuts() -> None:
    # kuangliu/pytorch-cifar's ResNet18: an identity shortcut prints as "Sequential()";
    # forward ends with F.avg_pool2d(out, 4), which the print does not show: at 32x32 the
    # 512x4x4 map is pooled to 512, an assumption stated on stderr and in JSON.
    # PyTorch: torch.Size([1, 10]), 11,173,962 parameters
    data = conv_json(["--net", str(MODELS / "cifar_resnet18.txt"), "--input", "32"])
    assert data["output_shape"] == [1, 10] and data["params"] == 11_173_962
    inferred = data["inferred"]
    assert isinstance(inferred, list) and "512x4x4 feature map is averaged" in inferred[0]
    warnings = data["warnings"]
    assert isinstance(warnings, list) and "assumed" in warnings[0]


MLP = """MLP(
  (fc1): Linear(in_features=784, out_features=128, bias=True)
  (relu): ReLU()
  (fc2): Linear(in_features=128, out_features=10, bias=True)
)
"""


def test_a_multilayer_perceptron_takes_n_x_features() -> None:
    # 8x784: a batch of 8 rows of 784 features; 28x28 stays an image (28 is not 784)
    assert invoke(["conv-shape", "--net", "-", "--input", "8x784"], MLP).stdout == "8x10\n"
    assert invoke(["conv-shape", "--net", "-", "--input", "28x28"], MLP).stdout == "1x10\n"
    err = assert_clean_error(invoke(["conv-shape", "--net", "-", "--min-input"], MLP))
    assert "starts with a Linear" in err


def test_no_global_pool_after_an_adaptive_pool_to_a_larger_map() -> None:
    # torchvision's AlexNet with its first classifier Linear given in_features=256 (the
    # channels): avgpool is AdaptiveAvgPool2d((6, 6)), so forward flattens 256x6x6 = 9216
    # and PyTorch raises; hw3 must not assume a global pool to 256
    text = (MODELS / "alexnet.txt").read_text()
    broken = text.replace(
        "Linear(in_features=9216, out_features=4096", "Linear(in_features=256, out_features=4096"
    )
    err = assert_clean_error(invoke(["conv-shape", "--net", "-", "--input", "224"], broken))
    assert "expects in_features=256 but receives 9216" in err
    assert "set in_features=9216" in err and "nn.AdaptiveAvgPool2d(1) in place of avgpool" in err
