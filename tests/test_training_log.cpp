// The training log (CSV + JSON Lines), its reader and plot, and the text of the progress bar and
// the per-epoch line. Files go to a fresh temporary folder per test case.

#include "hnn/error.h"
#include "progress_bar.h"
#include "temp_dir.h"
#include "training_log.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace hnn;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;

namespace {

const std::string header = "epoch,train_loss,train_acc,test_loss,test_acc,images_per_s,seconds";

using hnn::test::TempDir;

std::string read_text(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_text(const std::string &path, const std::string &text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    REQUIRE(out);
}

std::vector<std::string> lines_of(const std::string &text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

EpochRecord record(int epoch) {
    EpochRecord r;
    r.epoch = epoch;
    r.train_loss = 1.0 / (epoch + 1);
    r.train_acc = 0.9 + 0.01 * epoch;
    r.test_loss = 1.5 / (epoch + 2);
    r.test_acc = 0.85 + 0.02 * epoch;
    r.images_per_s = 12345.678 + epoch;
    r.seconds = 4.8614 * epoch;
    return r;
}

const nlohmann::json config = {{"model", "lenet"}, {"epochs", 3}, {"lr", 0.01}, {"data", "fashion-mnist"}};

// The message of the hnn::Error that `f` throws; fails the test if it throws nothing or another type.
template <typename F>
std::string error_of(F f) {
    try {
        f();
    } catch (const Error &e) {
        return e.what();
    }
    FAIL("expected an hnn::Error");
    return "";
}

// What `f` writes to stdout, caught through a file put in place of file descriptor 1.
template <typename F>
std::string stdout_of(const TempDir &dir, F f) {
    const std::string path = (dir / "stdout.txt");
    std::fflush(stdout);
    const int saved = dup(STDOUT_FILENO);
    const int file = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(saved >= 0);
    REQUIRE(file >= 0);
    dup2(file, STDOUT_FILENO);
    close(file);
    f();
    std::fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    return read_text(path);
}

std::string error_reading(const TempDir &dir, const std::string &text) {
    const std::string path = (dir / "bad.csv");
    write_text(path, text);
    return error_of([&] { read_training_log(path); });
}

}  // namespace

TEST_CASE("training log: JSONL path beside the CSV", "[log]") {
    CHECK(jsonl_path_for("runs/a.csv") == "runs/a.jsonl");
    CHECK(jsonl_path_for("a.csv.csv") == "a.csv.jsonl");
    CHECK(jsonl_path_for("log") == "log.jsonl");
    CHECK(jsonl_path_for("log.txt") == "log.txt.jsonl");
    CHECK(jsonl_path_for("data.CSV") == "data.CSV.jsonl");
}

TEST_CASE("training log: exact header and row text", "[log]") {
    TempDir dir;
    const std::string csv = (dir / "run.csv");
    TrainingLog log = TrainingLog::create(csv, config);
    CHECK(read_text(csv) == header + "\n");
    EpochRecord r{1, 0.2345, 0.93125, 0.1234567, 0.965, 1234.56, 12.3456};
    log.append(r);
    CHECK(format_csv_row(r) == "1,0.234500,0.931250,0.123457,0.965000,1234.6,12.346");
    CHECK(read_text(csv) == header + "\n1,0.234500,0.931250,0.123457,0.965000,1234.6,12.346\n");
}

TEST_CASE("training log: read back equals written to the printed precision", "[log]") {
    TempDir dir;
    const std::string csv = (dir / "run.csv");
    TrainingLog log = TrainingLog::create(csv, config);
    for (int e = 1; e <= 3; e++) log.append(record(e));
    const std::vector<EpochRecord> back = read_training_log(csv);
    REQUIRE(back.size() == 3);
    for (int e = 1; e <= 3; e++) {
        const EpochRecord &r = back[e - 1], want = record(e);
        CHECK(r.epoch == e);
        CHECK(r.train_loss == Approx(want.train_loss).margin(5e-7));
        CHECK(r.train_acc == Approx(want.train_acc).margin(5e-7));
        CHECK(r.test_loss == Approx(want.test_loss).margin(5e-7));
        CHECK(r.test_acc == Approx(want.test_acc).margin(5e-7));
        CHECK(r.images_per_s == Approx(want.images_per_s).margin(0.05));
        CHECK(r.seconds == Approx(want.seconds).margin(5e-4));
        CHECK(format_csv_row(r) == format_csv_row(want));
    }
}

TEST_CASE("training log: JSONL holds the config, then one object per epoch with the CSV keys", "[log]") {
    TempDir dir;
    const std::string csv = (dir / "run.csv");
    TrainingLog log = TrainingLog::create(csv, config);
    log.append(record(1));
    log.append(record(2));
    const std::vector<std::string> lines = lines_of(read_text((dir / "run.jsonl")));
    REQUIRE(lines.size() == 3);
    const nlohmann::json first = nlohmann::json::parse(lines[0]);
    CHECK(first == nlohmann::json{{"config", config}});

    const std::vector<EpochRecord> rows = read_training_log(csv);
    const std::vector<std::string> keys = {"epoch",    "train_loss",   "train_acc", "test_loss",
                                           "test_acc", "images_per_s", "seconds"};
    for (int e = 1; e <= 2; e++) {
        const nlohmann::json line = nlohmann::json::parse(lines[e]);
        REQUIRE(line.is_object());
        CHECK(line.size() == keys.size());
        for (const std::string &key : keys) CHECK(line.contains(key));
        // The same numbers as the CSV prints, not the unrounded ones.
        const EpochRecord &row = rows[e - 1];
        CHECK(line["epoch"] == e);
        CHECK(line["train_loss"].get<double>() == row.train_loss);
        CHECK(line["train_acc"].get<double>() == row.train_acc);
        CHECK(line["test_loss"].get<double>() == row.test_loss);
        CHECK(line["test_acc"].get<double>() == row.test_acc);
        CHECK(line["images_per_s"].get<double>() == row.images_per_s);
        CHECK(line["seconds"].get<double>() == row.seconds);
    }
}

TEST_CASE("training log: create truncates an old log", "[log]") {
    TempDir dir;
    const std::string csv = (dir / "run.csv");
    TrainingLog::create(csv, config).append(record(1));
    TrainingLog::create(csv, {{"fresh", true}});
    CHECK(read_text(csv) == header + "\n");
    CHECK(read_text((dir / "run.jsonl")) == "{\"config\":{\"fresh\":true}}\n");
}

TEST_CASE("training log: resume keeps epochs up to the checkpoint, drops later rows, then appends", "[log]") {
    TempDir dir;
    // The uninterrupted run.
    const std::string whole = (dir / "whole.csv");
    TrainingLog full = TrainingLog::create(whole, config);
    for (int e = 1; e <= 4; e++) full.append(record(e));

    // The interrupted run: checkpoint after epoch 2, log rows for 3 and a half-written 4.
    const std::string cut = (dir / "cut.csv");
    TrainingLog first = TrainingLog::create(cut, config);
    for (int e = 1; e <= 3; e++) first.append(record(e));
    {
        std::ofstream out(cut, std::ios::app);
        out << "4,0.2000";
    }
    // A resumed run's config may differ (it names the checkpoint): the log keeps the original.
    nlohmann::json resumed_config = config;
    resumed_config["resume"] = "ckpt.hnn";
    TrainingLog resumed = TrainingLog::resume(cut, resumed_config, 2);
    REQUIRE(read_training_log(cut).size() == 2);
    CHECK(lines_of(read_text((dir / "cut.jsonl"))).size() == 3);
    resumed.append(record(3));
    resumed.append(record(4));

    CHECK(read_text(cut) == read_text(whole));
    CHECK(read_text((dir / "cut.jsonl")) == read_text((dir / "whole.jsonl")));
    CHECK_FALSE(std::filesystem::exists(cut + ".tmp"));
    CHECK_FALSE(std::filesystem::exists((dir / "cut.jsonl.tmp")));
}

TEST_CASE("training log: resume at epoch 0 and resume rebuilding a missing JSONL", "[log]") {
    TempDir dir;
    const std::string csv = (dir / "run.csv");
    TrainingLog log = TrainingLog::create(csv, config);
    log.append(record(1));
    log.append(record(2));
    SECTION("epoch 0 keeps only the header") {
        TrainingLog::resume(csv, config, 0);
        CHECK(read_text(csv) == header + "\n");
        CHECK(lines_of(read_text((dir / "run.jsonl"))).size() == 1);
    }
    SECTION("a missing JSONL is rebuilt from the CSV and the given config") {
        const std::string before = read_text((dir / "run.jsonl"));
        std::filesystem::remove((dir / "run.jsonl"));
        TrainingLog::resume(csv, config, 2);
        CHECK(read_text((dir / "run.jsonl")) == before);
    }
}

TEST_CASE("training log: resume errors name the file", "[log]") {
    TempDir dir;
    const std::string csv = (dir / "run.csv");
    SECTION("missing log") {
        CHECK_THAT(error_of([&] { TrainingLog::resume(csv, config, 1); }), Contains(csv));
    }
    SECTION("fewer epochs than the checkpoint") {
        TrainingLog::create(csv, config).append(record(1));
        const std::string message = error_of([&] { TrainingLog::resume(csv, config, 3); });
        CHECK_THAT(message, Contains(csv) && Contains("1 complete epoch") && Contains("3 done"));
        CHECK(read_training_log(csv).size() == 1);  // left as it was
    }
    SECTION("epochs out of sequence") {
        write_text(csv, header + "\n1,1,1,1,1,1,1\n3,1,1,1,1,1,1\n");
        CHECK_THAT(error_of([&] { TrainingLog::resume(csv, config, 2); }),
                   Contains(csv + ":3") && Contains("epoch 3 where epoch 2"));
    }
    SECTION("bad kept row") {
        write_text(csv, header + "\n1,1,x,1,1,1,1\n");
        CHECK_THAT(error_of([&] { TrainingLog::resume(csv, config, 1); }),
                   Contains(csv + ":2") && Contains("train_acc"));
    }
    SECTION("JSONL without its config line") {
        TrainingLog::create(csv, config).append(record(1));
        write_text((dir / "run.jsonl"), "not json\n");
        CHECK_THAT(error_of([&] { TrainingLog::resume(csv, config, 1); }), Contains((dir / "run.jsonl") + ":1"));
    }
}

TEST_CASE("training log: bad files give an error naming file, line and field", "[log]") {
    TempDir dir;
    const std::string path = (dir / "bad.csv");
    CHECK_THAT(error_of([&] { read_training_log((dir / "absent.csv")); }), Contains((dir / "absent.csv")));
    CHECK_THAT(error_reading(dir, ""), Contains(path + ":") && Contains("empty file"));

    struct Case {
        std::string rows;  // after the header
        std::string at, says;
    };
    const std::string row = "1,0.5,0.8,0.6,0.7,100.0,1.000";
    const Case cases[] = {
        {row + "\n1,0.5,0.8,abc,0.7,100.0,1.000\n", ":3: column 4 (test_loss)", "'abc' is not a number"},
        {"1,0.5,0.8,0.6\n", ":2:", "no column 5 (test_acc)"},
        {row + ",9\n", ":2:", "8 fields"},
        {"1,0.5,0.8,,0.7,100.0,1.000\n", ":2: column 4 (test_loss)", "'' is not a number"},
        {"1,0.5, 0.8,0.6,0.7,100.0,1.000\n", ":2: column 3 (train_acc)", "is not a number"},
        {"1.5,0.5,0.8,0.6,0.7,100.0,1.000\n", ":2: column 1 (epoch)", "not a positive integer"},
        {"0,0.5,0.8,0.6,0.7,100.0,1.000\n", ":2: column 1 (epoch)", "not a positive integer"},
        {row + "\n" + row + "\n", ":3: column 1 (epoch)", "does not follow epoch 1"},
        {"\n" + row + "\n", ":2:", "empty line"},
    };
    for (const Case &c : cases) {
        INFO("rows: " << c.rows);
        CHECK_THAT(error_reading(dir, header + "\n" + c.rows), Contains(path + c.at) && Contains(c.says));
    }
    CHECK_THAT(error_reading(dir, "epoch,loss\n" + row + "\n"), Contains(path + ":1: header is 'epoch,loss'"));
}

TEST_CASE("training log: lenient where a log is still right", "[log]") {
    TempDir dir;
    const std::string path = (dir / "ok.csv");
    SECTION("header only") {
        write_text(path, header + "\n");
        CHECK(read_training_log(path).empty());
    }
    SECTION("CRLF line ends, no final newline, nan from a diverged run") {
        write_text(path, header + "\r\n1,0.5,0.8,0.6,0.7,100.0,1.000\r\n2,nan,0.1,inf,0.1,100.0,2.000");
        const std::vector<EpochRecord> records = read_training_log(path);
        REQUIRE(records.size() == 2);
        CHECK(records[0].test_acc == 0.7);
        CHECK(std::isnan(records[1].train_loss));
        CHECK(std::isinf(records[1].test_loss));
    }
}

TEST_CASE("training log: plot writes a PNG, and fails naming the CSV for a bad log", "[log][plot]") {
    TempDir dir;
    const std::string csv = (dir / "my_run.csv"), png = (dir / "my_run.png");
    SECTION("several epochs") {
        TrainingLog log = TrainingLog::create(csv, config);
        for (int e = 1; e <= 12; e++) log.append(record(e));
        plot_training_log(csv, png);
        const std::string image = read_text(png);
        REQUIRE(image.size() > 1000);
        CHECK(image.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
    }
    SECTION("a single epoch") {
        TrainingLog::create(csv, config).append(record(1));
        plot_training_log(csv, png);
        CHECK(read_text(png).size() > 1000);
    }
    SECTION("bad log") {
        write_text(csv, header + "\n1,0.5,oops,0.6,0.7,100.0,1.000\n");
        CHECK_THAT(error_of([&] { plot_training_log(csv, png); }), Contains(csv + ":2") && Contains("train_acc"));
        CHECK_FALSE(std::filesystem::exists(png));
    }
    SECTION("header only") {
        TrainingLog::create(csv, config);
        CHECK_THAT(error_of([&] { plot_training_log(csv, png); }), Contains(csv) && Contains("no epochs"));
    }
    SECTION("unwritable PNG") {
        TrainingLog::create(csv, config).append(record(1));
        const std::string nowhere = (dir / "no/such/dir/out.png");
        CHECK_THAT(error_of([&] { plot_training_log(csv, nowhere); }), Contains(nowhere));
    }
}

TEST_CASE("training log: progress bar text", "[log][progress]") {
    SECTION("fill, counts and ETA") {
        // 120 of 600 steps in 8 s: 480 steps to go at 15 steps/s is 32 s.
        CHECK(format_progress(120, 600, 0.34123, 0.9124, 8.0, 20) ==
              "[====>               ] 120/600  loss 0.3412  acc 0.912  ETA 0:32");
        CHECK(format_progress(300, 600, 0.5, 0.5, 10.0, 10) ==
              "[=====>    ] 300/600  loss 0.5000  acc 0.500  ETA 0:10");
    }
    SECTION("counts padded to the width of the total") {
        CHECK_THAT(format_progress(5, 600, 1, 0.1, 1.0), Contains("]   5/600  loss"));
    }
    SECTION("no step done yet: empty bar, no ETA, no division by zero") {
        const std::string text = format_progress(0, 600, 0, 0, 0.0, 10);
        CHECK(text == "[>         ]   0/600  loss 0.0000  acc 0.000  ETA --:--");
    }
    SECTION("done: full bar, ETA 0:00") {
        CHECK(format_progress(600, 600, 0.1, 0.99, 60.0, 10) ==
              "[==========] 600/600  loss 0.1000  acc 0.990  ETA 0:00");
    }
    SECTION("out-of-range input is clamped, not trusted") {
        CHECK_THAT(format_progress(700, 600, 0.1, 0.99, 60.0, 10), StartsWith("[==========] 600/600"));
        CHECK_THAT(format_progress(-3, 600, 0.1, 0.99, 60.0, 10), StartsWith("[>         ]   0/600"));
        CHECK_THAT(format_progress(0, 0, 0.1, 0.99, 60.0, 10), StartsWith("[          ] 0/0"));
        CHECK(format_progress(10, 600, 0.1, 0.99, 60.0, 0).size() > 0);
    }
    SECTION("bar width is the width asked for") {
        for (int done : {0, 1, 299, 599, 600}) {
            const std::string text = format_progress(done, 600, 0.1, 0.5, 3.0, 25);
            CHECK(text.find(']') == 26);
        }
    }
    SECTION("durations") {
        CHECK(format_duration(0) == "0:00");
        CHECK(format_duration(59.4) == "0:59");
        CHECK(format_duration(61) == "1:01");
        CHECK(format_duration(3600 + 62) == "1:01:02");
        CHECK(format_duration(-1) == "--:--");
        CHECK(format_duration(std::nan("")) == "--:--");
    }
}

TEST_CASE("training log: progress bar drawing", "[log][progress]") {
    TempDir dir;
    SECTION("disabled (stdout not a terminal) prints nothing") {
        const std::string out = stdout_of(dir, [] {
            ProgressBar bar(10, false);
            for (int i = 1; i <= 10; i++) bar.update(i, 0.5, 0.5);
            bar.finish();
        });
        CHECK(out.empty());
    }
    SECTION("enabled: redraws in place, throttled, and finish clears the line") {
        const std::string out = stdout_of(dir, [] {
            ProgressBar bar(1000, true);
            for (int i = 1; i <= 1000; i++) bar.update(i, 0.25, 0.75);
            bar.finish();
            bar.finish();  // a second finish (and the destructor) must not clear again
        });
        // The first step and the last always draw; the steps between come faster than 10 a second.
        CHECK(std::count(out.begin(), out.end(), '\r') == 3);
        CHECK_THAT(out, StartsWith("\r[>") && Contains("1000/1000  loss 0.2500  acc 0.750  ETA 0:00"));
        CHECK_THAT(out, EndsWith("\r\033[K"));
        CHECK(out.find('\n') == std::string::npos);
    }
    SECTION("the destructor clears a bar left drawn by an exception") {
        const std::string out = stdout_of(dir, [] {
            ProgressBar bar(10, true);
            bar.update(1, 0.5, 0.5);
        });
        CHECK_THAT(out, EndsWith("\r\033[K"));
    }
}

TEST_CASE("training log: per-epoch line", "[log]") {
    EpochRecord r{1, 0.23454, 0.93118, 0.12341, 0.96502, 1234.54, 12.34};
    CHECK(format_epoch_line(r, 2) ==
          "epoch 1/2  train_loss 0.2345 train_acc 0.9312  test_loss 0.1234 test_acc 0.9650  1234.5 images/s  12.3 s");
}
