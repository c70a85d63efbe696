#include "pytorch_step.h"

#include "hnn/error.h"
#include "hnn/layer_geometry.h"
#include "network.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

namespace hnn {
namespace {

using nlohmann::json;

std::string command_text(const std::vector<std::string> &args) {
    std::string t;
    for (const std::string &a : args) t += (t.empty() ? "" : " ") + a;
    return t;
}

// A float as Python reads it back exactly (std::to_string's %f wrote Adam's eps, 1e-8, as 0.000000).
std::string float_text(float value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.9g", static_cast<double>(value));
    return text;
}

struct ProcessResult {
    int status = 0;  // waitpid's
    std::string output;
};

// Runs args[0] (no shell: paths with spaces stay whole) with stdout captured; stderr is the
// caller's, so that a Python traceback reaches the user as it is.
ProcessResult run_capturing_stdout(const std::vector<std::string> &args) {
    int fds[2];
    if (pipe(fds) != 0) throw Error("cannot create a pipe for " + command_text(args) + ": " + std::strerror(errno));
    // Everything the child needs is made before fork: between fork and exec only async-signal-safe
    // calls are allowed (other threads, Halide's and OpenMP's, may hold malloc's locks).
    std::vector<char *> argv;
    for (const std::string &a : args) argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    const std::string exec_failed = "hnn: cannot run " + args[0] + "\n";
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        throw Error("cannot start " + command_text(args) + ": " + std::strerror(errno));
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], argv.data());
        const ssize_t ignored = write(STDERR_FILENO, exec_failed.data(), exec_failed.size());
        (void)ignored;
        _exit(127);
    }
    close(fds[1]);
    ProcessResult r;
    char buffer[4096];
    for (;;) {
        const ssize_t n = read(fds[0], buffer, sizeof buffer);
        if (n > 0) r.output.append(buffer, static_cast<size_t>(n));
        else if (n == 0 || errno != EINTR) break;
    }
    close(fds[0]);
    while (waitpid(pid, &r.status, 0) < 0 && errno == EINTR) {
    }
    return r;
}

std::string status_text(int status) {
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
        return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
    }
    return "ended abnormally";
}

bool succeeded(int status) {
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// A temporary file that goes away with the bench, whatever ends it.
class TemporaryJson {
public:
    explicit TemporaryJson(const json &value) {
        char name[] = "/tmp/hnn-network-XXXXXX";
        const int fd = mkstemp(name);
        if (fd < 0) throw Error(std::string("cannot create a temporary file for the network: ") + std::strerror(errno));
        close(fd);
        path_ = name;
        std::ofstream out(path_);
        out << value.dump(2) << "\n";
        if (!out) {
            std::remove(path_.c_str());
            throw Error("cannot write the network to " + path_);
        }
    }
    ~TemporaryJson() { std::remove(path_.c_str()); }
    TemporaryJson(const TemporaryJson &) = delete;
    TemporaryJson &operator=(const TemporaryJson &) = delete;
    const std::string &path() const { return path_; }

private:
    std::string path_;
};

double positive_number(const json &j, const char *field, const std::string &where) {
    if (!j.is_object() || !j.contains(field) || !j.at(field).is_number() || !(j.at(field).get<double>() > 0)) {
        throw Error(where + ": expected a positive number '" + field + "'");
    }
    return j.at(field).get<double>();
}

PytorchStep parse_answer(const std::string &output, const std::string &command) {
    const std::string where = "the answer of " + command;
    json j;
    try {
        j = json::parse(output);
    } catch (const json::exception &) {
        const std::string excerpt = output.size() > 200 ? output.substr(0, 200) + "..." : output;
        throw Error(where + " is not JSON: '" + excerpt + "'");
    }
    if (!j.is_object() || !j.contains("modes") || !j.at("modes").is_object() || !j.at("modes").contains("fp32")) {
        throw Error(where + ": expected an object with 'modes' holding 'fp32'");
    }
    PytorchStep s;
    s.raw = j;
    s.version = j.value("torch", std::string("unknown"));
    s.device = j.value("device", std::string("unknown"));
    s.threads = j.contains("threads") && j.at("threads").is_number_integer() ? j.at("threads").get<int>() : 0;
    for (const char *name : {"fp32", "tf32"}) {
        if (!j.at("modes").contains(name)) continue;
        const json &m = j.at("modes").at(name);
        const std::string mode_where = where + ", mode " + name;
        s.modes.push_back({name, positive_number(m, "step_ms", mode_where), positive_number(m, "images_per_s", mode_where)});
    }
    return s;
}

}  // namespace

json pytorch_network_json(const ModelSpec &model, const Shape3 &input, int classes, int batch) {
    const std::vector<Shape3> shapes = layer_output_shapes(model, input, classes);
    json layers = model_to_json(model).at("layers");
    Shape3 in = input;
    for (size_t i = 0; i < model.layers.size(); i++) {
        const LayerSpec &l = model.layers[i];
        json &j = layers.at(i);
        if (l.kind == LayerKind::conv) {
            const Conv2dGeometry g = conv2d_geometry(in.width, in.height, l.kernel, l.kernel, l.stride, l.padding);
            // What the last window reaches past the input; negative where 'valid' or a stride leaves
            // columns unread, which PyTorch's floor leaves unread too.
            const int right = (g.out_width - 1) * l.stride + l.kernel - in.width - g.pad_x;
            const int bottom = (g.out_height - 1) * l.stride + l.kernel - in.height - g.pad_y;
            j["pad"] = {{"left", g.pad_x}, {"right", std::max(right, 0)}, {"top", g.pad_y}, {"bottom", std::max(bottom, 0)}};
        }
        j["output_shape"] = {shapes[i].channels, shapes[i].width, shapes[i].height};
        in = shapes[i];
    }
    // The script compares its own count with this one: a layer built differently (a prelu slope per
    // channel, swish's one beta, a bias) fails there before anything is timed.
    Network network(model, input, classes, Device::cpu);
    size_t parameters = 0;
    for (const Parameter &p : network.parameters()) parameters += p.value->size();
    return json{{"name", model.name},
                {"input", {input.channels, input.width, input.height}},
                {"batch", batch},
                {"classes", classes},
                {"parameters", parameters},
                {"layers", layers}};
}

void require_pytorch(const PytorchRequest &request) {
    const std::vector<std::string> probe{request.python, "-c", "import torch"};
    const ProcessResult r = run_capturing_stdout(probe);
    if (!succeeded(r.status)) {
        throw Error("--pytorch: '" + command_text(probe) + "' " + status_text(r.status) +
                    ": PyTorch is needed (Debian: apt-get install python3-torch), or name an interpreter that has it "
                    "with --python PATH");
    }
    if (access(request.script.c_str(), R_OK) != 0) {
        throw Error("--pytorch: cannot read the script " + request.script + ": " + std::strerror(errno) +
                    " (name its copy with --torch-script PATH)");
    }
}

PytorchStep time_pytorch_step(const PytorchRequest &request, const json &network) {
    const TemporaryJson file(network);
    std::vector<std::string> args{request.python, request.script, "--network", file.path(), "--device", request.device,
                                  "--lr", float_text(request.learning_rate), "--beta1", float_text(request.adam.beta1),
                                  "--beta2", float_text(request.adam.beta2), "--eps", float_text(request.adam.eps),
                                  "--warmup",
                                  std::to_string(request.warmup), "--repeats", std::to_string(request.repeats), "--seed",
                                  std::to_string(request.seed), "--json"};
    if (request.threads > 0) args.insert(args.end(), {"--threads", std::to_string(request.threads)});
    const std::string command = command_text(args);
    const ProcessResult r = run_capturing_stdout(args);
    if (!succeeded(r.status)) throw Error("--pytorch: '" + command + "' " + status_text(r.status));
    PytorchStep step = parse_answer(r.output, "'" + command + "'");
    step.script = request.script;
    return step;
}

std::string default_python() {
    return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

}  // namespace hnn
