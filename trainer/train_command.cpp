#include "train_command.h"

#include "conv_algorithm_option.h"
#include "training_run.h"

#include <iostream>
#include <memory>

namespace hnn {

void add_train_command(CLI::App &app) {
    auto o = std::make_shared<TrainOptions>();
    CLI::App *cmd = app.add_subcommand("train", "Train a network; one line per epoch, optional CSV log, plot and checkpoints");
    cmd->add_option("--model", o->model, "Preset: allconv, allcnn-c or celu7")->capture_default_str();
    cmd->add_option("--model-file", o->model_file, "A JSON model file instead of a preset (see README)");
    cmd->add_option("--width", o->width, "Channels of the preset's convs (default: allconv 96, allcnn-c 96, celu7 200)");
    cmd->add_option("--activation", o->activation,
                    "Activation after every conv (default: celu7 celu with alpha 2, allconv elu, allcnn-c and model files relu)");
    cmd->add_option("--param", o->params, "Activation parameter, NAME.PARAM=VALUE (e.g. celu.alpha=2)");
    cmd->add_flag("!--no-final-activation", o->final_activation, "No activation after the last conv");
    cmd->add_flag("--bias", o->bias, "Convs with biases (default: none, as the reference experiments)");
    cmd->add_flag("--dropout", o->dropout, "allcnn-c with the paper's dropout (0.2 on the input, 0.5 after each stride-2 conv)");
    cmd->add_option("--init", o->init, "Filter init: he, glorot or normal:STD")->capture_default_str();
    cmd->add_option("--dataset", o->dataset, "mnist, fashion-mnist or cifar10")->capture_default_str();
    cmd->add_option("--data", o->data, "Directory of the dataset's files (default: data/mnist, "
                                       "/usr/share/datasets/fashion-mnist, data/cifar10)");
    cmd->add_option("--normalize", o->normalize, "none, unit (x/255) or standardize (per channel)")->capture_default_str();
    cmd->add_option("--train-limit", o->train_limit, "Use only the first N training images");
    cmd->add_option("--test-limit", o->test_limit, "Use only the first N test images");
    cmd->add_option("--optimizer", o->optimizer, "sgd, adam or amsgrad")->capture_default_str();
    cmd->add_option("--lr", o->lr, "Learning rate")->capture_default_str();
    cmd->add_option("--batch", o->batch, "Images per step")->capture_default_str();
    cmd->add_option("--momentum", o->momentum, "SGD momentum")->capture_default_str();
    cmd->add_flag("--nesterov", o->nesterov, "SGD with Nesterov momentum");
    cmd->add_option("--beta1", o->beta1, "Adam beta1")->capture_default_str();
    cmd->add_option("--beta2", o->beta2, "Adam beta2")->capture_default_str();
    cmd->add_option("--eps", o->eps, "Adam epsilon")->capture_default_str();
    cmd->add_option("--weight-decay", o->weight_decay, "L2 weight decay (added to the gradient)")->capture_default_str();
    cmd->add_flag("--decoupled-weight-decay", o->decoupled_weight_decay, "Decay the weights directly (AdamW, SGDW)");
    cmd->add_option("--lr-schedule", o->lr_schedule, "constant, step:EPOCHS:GAMMA or cosine")->capture_default_str();
    cmd->add_option("--dilated-backprop", o->dilated_backprop, "RATE[:DECAY]: add upsampled gradients from conv k+2 to conv k");
    CLI::Option *epochs = cmd->add_option("--epochs", o->epochs, "Epochs to train")->capture_default_str();
    cmd->add_option("--seed", o->seed, "Seed of the initial weights, shuffling and rrelu")->capture_default_str();
    cmd->add_option("--threads", o->threads, "Worker threads (default: every core)");
    add_conv_algorithm_option(cmd, o->conv_algorithm);
    cmd->add_option("--device", o->device,
                    "cpu, cuda, opencl, or auto (CUDA when a GPU answers, else the CPU); the whole run stays on it")
        ->capture_default_str();
    cmd->add_option("--log", o->log, "Write FILE.csv (and FILE.jsonl with the configuration)");
    cmd->add_option("--plot", o->plot, "Draw accuracy and loss into this PNG at the end");
    cmd->add_option("--checkpoint", o->checkpoint, "Save weights and optimizer state here after every epoch");
    cmd->add_option("--resume", o->resume, "Continue the run saved in this checkpoint");
    cmd->add_flag("!--no-progress", o->progress, "No progress bar, even on a terminal");
    cmd->callback([o, epochs] { run_training(*o, std::cout, epochs->count() > 0); });
}

}  // namespace hnn
