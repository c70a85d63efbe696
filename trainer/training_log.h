#pragma once
// The training log: one CSV row per epoch (for people, spreadsheets and `hnn plot`) and, beside it,
// a JSON Lines file with the run's configuration followed by the same records (for programs).
// The CSV is the source of truth: the JSONL epoch lines carry the values exactly as the CSV prints
// them, so either file can be rebuilt from the other and a resumed run can rewrite both.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace hnn {

struct EpochRecord {
    int epoch = 0;  // 1-based
    double train_loss = 0, train_acc = 0, test_loss = 0, test_acc = 0, images_per_s = 0, seconds = 0;
};

// The CSV header line, without its newline.
extern const char *const training_log_header;

// The JSON Lines file beside FILE.csv: FILE.jsonl (FILE.csv -> FILE.jsonl; a name without .csv gets
// .jsonl appended).
std::string jsonl_path_for(const std::string &csv_path);

// One CSV row, without its newline: losses and accuracies %.6f, images_per_s %.1f, seconds %.3f.
std::string format_csv_row(const EpochRecord &record);

// A value type: it holds the two paths and opens the files in append mode for each record, so every
// record is on disk as soon as append returns and an interrupted run loses at most the epoch it was in.
class TrainingLog {
public:
    // A new run: writes the CSV header and, as the first JSONL line, {"config": <config>}; truncates
    // old files.
    static TrainingLog create(const std::string &csv_path, const nlohmann::json &config);

    // A resumed run whose checkpoint holds `epochs_done` epochs: keeps the header and the records of
    // epochs 1..epochs_done, drops any later rows left by the interrupted run (a half-written last
    // row included), rewrites both files atomically (temp + rename) and appends from there.
    // The JSONL keeps the config line the run started with, so that the resumed log equals an
    // uninterrupted one; `config` is written only when the JSONL file is missing.
    // Throws hnn::Error naming the file when the CSV is missing or invalid, or does not hold epochs
    // 1..epochs_done, or when the JSONL exists but does not start with a config line.
    static TrainingLog resume(const std::string &csv_path, const nlohmann::json &config, int epochs_done);

    // One CSV row and one JSONL line with the same keys; flushed at once. Throws hnn::Error naming
    // the file if it cannot be written.
    void append(const EpochRecord &record) const;

    const std::string &csv_path() const { return csv_path_; }
    const std::string &jsonl_path() const { return jsonl_path_; }

private:
    explicit TrainingLog(const std::string &csv_path);
    std::string csv_path_, jsonl_path_;
};

// Reads and validates a CSV log: the exact header, then rows of 7 fields, each numeric, the epoch a
// positive integer and increasing from row to row. Throws hnn::Error naming the file, line and
// column on the first fault. A header-only log gives no records.
std::vector<EpochRecord> read_training_log(const std::string &csv_path);

// Two panels over epochs: accuracy (train, test) and loss (train, test); PNG via gnuplot.
// Throws hnn::Error naming the CSV for a bad or empty log, or the PNG if gnuplot fails.
void plot_training_log(const std::string &csv_path, const std::string &png_path);

// The per-epoch stdout line, e.g.
// "epoch 1/2  train_loss 0.2345 train_acc 0.9312  test_loss 0.1234 test_acc 0.9650  1234.5 images/s  12.3 s"
std::string format_epoch_line(const EpochRecord &record, int total_epochs);

}  // namespace hnn
