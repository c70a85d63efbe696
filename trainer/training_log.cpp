#include "training_log.h"

#include "gnuplot.h"
#include "hnn/error.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace hnn {

const char *const training_log_header = "epoch,train_loss,train_acc,test_loss,test_acc,images_per_s,seconds";

namespace {

// The columns after the epoch, in CSV order. One table drives the CSV row, the JSONL line and the
// parser, so the three cannot drift apart.
struct Column {
    const char *name;
    double EpochRecord::*field;
    const char *format;
};
const Column value_columns[] = {
    {"train_loss", &EpochRecord::train_loss, "%.6f"},    {"train_acc", &EpochRecord::train_acc, "%.6f"},
    {"test_loss", &EpochRecord::test_loss, "%.6f"},      {"test_acc", &EpochRecord::test_acc, "%.6f"},
    {"images_per_s", &EpochRecord::images_per_s, "%.1f"}, {"seconds", &EpochRecord::seconds, "%.3f"},
};
constexpr int column_count = 1 + sizeof value_columns / sizeof value_columns[0];

__attribute__((format(printf, 1, 2))) std::string strprintf(const char *format, ...) {
    va_list args, again;
    va_start(args, format);
    va_copy(again, args);
    const int size = std::vsnprintf(nullptr, 0, format, args);
    va_end(args);
    std::string text(size > 0 ? size : 0, '\0');
    std::vsnprintf(text.data(), text.size() + 1, format, again);
    va_end(again);
    return text;
}

std::string format_value(const Column &column, double value) {
    // The format comes from the table above, never from input.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    return strprintf(column.format, value);
#pragma GCC diagnostic pop
}

// The value as the CSV prints it, so that the JSONL line and a re-read CSV hold the same number.
double printed_value(const Column &column, double value) {
    return std::strtod(format_value(column, value).c_str(), nullptr);
}

std::string jsonl_epoch_line(const EpochRecord &record) {
    nlohmann::ordered_json line;
    line["epoch"] = record.epoch;
    for (const Column &column : value_columns) line[column.name] = printed_value(column, record.*column.field);
    return line.dump();
}

std::string jsonl_config_line(const nlohmann::json &config) {
    // Replace, not throw, on invalid UTF-8 (a file name, say): a log line is not worth failing a run.
    return nlohmann::json{{"config", config}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string system_error() { return std::strerror(errno); }

std::string read_whole_file(const std::string &path, const char *what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(std::string("cannot read ") + what + " " + path + ": " + system_error());
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw Error(std::string("cannot read ") + what + " " + path + ": " + system_error());
    return text.str();
}

off_t file_size_or_zero(const std::string &path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

// Puts a file back as it was before a failed write: cut to its old size, or gone if it was new.
void undo_write(const std::string &path, bool appended, off_t old_size) {
    if (appended) {
        if (::truncate(path.c_str(), old_size) != 0) {}  // best effort: the error being reported matters more
    } else {
        std::remove(path.c_str());
    }
}

// "wb" or "ab". A write that fails (a full disk, a file-size limit) is undone: no partial file or row.
void write_file(const std::string &path, const std::string &text, const char *mode) {
    const bool append = mode[0] == 'a';
    const off_t old_size = append ? file_size_or_zero(path) : 0;
    std::FILE *file = std::fopen(path.c_str(), mode);
    if (file == nullptr) throw Error("cannot write training log " + path + ": " + system_error());
    bool ok = std::fwrite(text.data(), 1, text.size(), file) == text.size();
    ok = std::fclose(file) == 0 && ok;  // a successful fclose leaves fwrite's errno in place
    if (!ok) {
        const std::string reason = system_error();
        undo_write(path, append, old_size);
        throw Error("cannot write training log " + path + ": " + reason);
    }
}

// A crash leaves either the old file or the new one, never half of each.
void replace_file(const std::string &path, const std::string &text) {
    const std::string temp = path + ".tmp";
    write_file(temp, text, "wb");
    if (std::rename(temp.c_str(), path.c_str()) != 0) {
        const std::string reason = system_error();
        std::remove(temp.c_str());
        throw Error("cannot replace training log " + path + ": " + reason);
    }
}

struct Line {
    int number;  // 1-based
    std::string text;
    bool complete;  // ended by a newline; a missing one marks a write cut short
};

std::vector<Line> split_lines(const std::string &text) {
    std::vector<Line> lines;
    size_t start = 0;
    while (start < text.size()) {
        const size_t end = text.find('\n', start);
        const bool complete = end != std::string::npos;
        std::string line = text.substr(start, complete ? end - start : std::string::npos);
        if (!line.empty() && line.back() == '\r') line.pop_back();  // tolerate a log edited on Windows
        lines.push_back({static_cast<int>(lines.size()) + 1, line, complete});
        start = complete ? end + 1 : text.size();
    }
    return lines;
}

std::string where(const std::string &path, int line) { return path + ":" + std::to_string(line); }

void check_header(const std::string &path, const std::vector<Line> &lines) {
    if (lines.empty()) {
        throw Error(path + ": empty file; a training log starts with the header " + training_log_header);
    }
    if (lines[0].text != training_log_header) {
        throw Error(where(path, 1) + ": header is '" + lines[0].text + "', expected '" + training_log_header + "'");
    }
}

std::vector<std::string> split_fields(const std::string &line) {
    std::vector<std::string> fields;
    size_t start = 0;
    for (size_t comma; (comma = line.find(',', start)) != std::string::npos; start = comma + 1) {
        fields.push_back(line.substr(start, comma - start));
    }
    fields.push_back(line.substr(start));
    return fields;
}

std::string column_name(int index) { return index == 0 ? "epoch" : value_columns[index - 1].name; }

std::string field_where(const std::string &path, int line, int index) {
    return where(path, line) + ": column " + std::to_string(index + 1) + " (" + column_name(index) + ")";
}

int parse_epoch(const std::string &text, const std::string &path, int line) {
    const bool digits = !text.empty() && text.size() <= 9 &&
                        std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
    const int epoch = digits ? std::atoi(text.c_str()) : 0;
    if (epoch < 1) throw Error(field_where(path, line, 0) + ": '" + text + "' is not a positive integer");
    return epoch;
}

// strtod's whole syntax, nan and inf included (a diverged run logs them), but nothing around it.
double parse_number(const std::string &text, const std::string &path, int line, int index) {
    char *end = nullptr;
    const double value = text.empty() || std::isspace(static_cast<unsigned char>(text[0]))
                             ? 0
                             : std::strtod(text.c_str(), &end);
    if (end == nullptr || *end != '\0') {
        throw Error(field_where(path, line, index) + ": '" + text + "' is not a number");
    }
    return value;
}

EpochRecord parse_row(const Line &line, const std::string &path) {
    if (line.text.empty()) throw Error(where(path, line.number) + ": empty line");
    const std::vector<std::string> fields = split_fields(line.text);
    const int count = static_cast<int>(fields.size());
    if (count < column_count) {
        throw Error(where(path, line.number) + ": " + std::to_string(count) + " fields, the row has no column " +
                    std::to_string(count + 1) + " (" + column_name(count) + ")");
    }
    if (count > column_count) {
        throw Error(where(path, line.number) + ": " + std::to_string(count) + " fields, expected " +
                    std::to_string(column_count) + " (" + training_log_header + ")");
    }
    EpochRecord record;
    record.epoch = parse_epoch(fields[0], path, line.number);
    for (int i = 1; i < column_count; i++) {
        record.*value_columns[i - 1].field = parse_number(fields[i], path, line.number, i);
    }
    return record;
}

// The log's first `epochs` rows, which must be epochs 1..epochs complete; later lines are not read,
// since they are what an interrupted run left behind.
std::vector<EpochRecord> leading_epochs(const std::string &path, const std::vector<Line> &lines, int epochs) {
    std::vector<EpochRecord> records;
    for (size_t i = 1; i < lines.size() && static_cast<int>(records.size()) < epochs && lines[i].complete; i++) {
        EpochRecord record = parse_row(lines[i], path);
        const int expected = static_cast<int>(records.size()) + 1;
        if (record.epoch != expected) {
            throw Error(field_where(path, lines[i].number, 0) + ": epoch " + std::to_string(record.epoch) +
                        " where epoch " + std::to_string(expected) + " was expected");
        }
        records.push_back(record);
    }
    if (static_cast<int>(records.size()) < epochs) {
        throw Error(path + ": holds " + std::to_string(records.size()) +
                    " complete epoch(s), but the run to resume has " + std::to_string(epochs) + " done");
    }
    return records;
}

// The first line of an existing JSONL log, checked to be the config line; empty if there is no file.
std::string existing_config_line(const std::string &jsonl_path) {
    errno = 0;
    std::ifstream in(jsonl_path);
    if (!in && errno == ENOENT) return "";
    if (!in) throw Error("cannot read training log " + jsonl_path + ": " + system_error());
    std::string line;
    std::getline(in, line);
    const nlohmann::json parsed = nlohmann::json::parse(line, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("config")) {
        throw Error(where(jsonl_path, 1) + ": expected the config line {\"config\": ...}");
    }
    return line;
}

std::string gnuplot_datablock(const std::vector<EpochRecord> &records) {
    std::string block = "$epochs << EOD\n";
    for (const EpochRecord &r : records) {
        block += strprintf("%d %.17g %.17g %.17g %.17g\n", r.epoch, r.train_loss, r.train_acc, r.test_loss, r.test_acc);
    }
    return block + "EOD\n";
}

// Whole epochs on the x axis: a short run would otherwise get ticks at 0.5.
std::string gnuplot_x_axis(const std::vector<EpochRecord> &records) {
    const int first = records.front().epoch, last = records.back().epoch;
    std::string axis = "set xlabel 'epoch'\n";
    if (first == last) return axis + strprintf("set xrange [%g:%g]\nset xtics 1\n", first - 0.5, last + 0.5);
    axis += strprintf("set xrange [%d:%d]\n", first, last);
    return axis + (last - first <= 10 ? "set xtics 1\n" : "");
}

std::string plot_script(const std::string &csv_path, const std::vector<EpochRecord> &records,
                        const std::string &png_path) {
    std::string style = "with linespoints lw 2 pt 7 ps 0.6";
    std::string train = " lc rgb '#1f77b4' title 'train'", test = " lc rgb '#d62728' title 'test'";
    // noenhanced: underscores in file names must not turn into subscripts. A `set output` that fails
    // leaves gnuplot drawing on stdout, which is ours: stop it there.
    return "set terminal pngcairo noenhanced size 900,800 font 'sans,10'\n"
           "reset errors\n"
           "set output " + gnuplot_quote(png_path) + "\n"
           "if (GPVAL_ERRNO != 0) { exit status 1 }\n" +
           gnuplot_datablock(records) + gnuplot_x_axis(records) +
           "set grid\n"
           "set multiplot layout 2,1 title " + gnuplot_quote(csv_path) + "\n"
           "set title 'accuracy'\nset ylabel 'accuracy (%)'\nset key bottom right\n"
           "plot $epochs using 1:($3*100) " + style + train + ", $epochs using 1:($5*100) " + style + test + "\n"
           "set title 'loss'\nset ylabel 'loss'\nset key top right\n"
           "plot $epochs using 1:2 " + style + train + ", $epochs using 1:4 " + style + test + "\n"
           "unset multiplot\n";
}

}  // namespace

std::string jsonl_path_for(const std::string &csv_path) {
    const std::string extension = ".csv";
    const size_t stem = csv_path.size() - extension.size();
    const bool has_csv = csv_path.size() > extension.size() && csv_path.compare(stem, extension.size(), extension) == 0;
    return (has_csv ? csv_path.substr(0, stem) : csv_path) + ".jsonl";
}

std::string format_csv_row(const EpochRecord &record) {
    std::string row = std::to_string(record.epoch);
    for (const Column &column : value_columns) row += "," + format_value(column, record.*column.field);
    return row;
}

TrainingLog::TrainingLog(const std::string &csv_path) : csv_path_(csv_path), jsonl_path_(jsonl_path_for(csv_path)) {}

TrainingLog TrainingLog::create(const std::string &csv_path, const nlohmann::json &config) {
    TrainingLog log(csv_path);
    write_file(log.csv_path_, std::string(training_log_header) + "\n", "wb");
    try {
        write_file(log.jsonl_path_, jsonl_config_line(config) + "\n", "wb");
    } catch (const Error &) {
        std::remove(log.csv_path_.c_str());
        throw;
    }
    return log;
}

TrainingLog TrainingLog::resume(const std::string &csv_path, const nlohmann::json &config, int epochs_done) {
    if (epochs_done < 0) throw Error("resuming " + csv_path + ": negative epoch count " + std::to_string(epochs_done));
    TrainingLog log(csv_path);
    const std::vector<Line> lines = split_lines(read_whole_file(csv_path, "training log"));
    check_header(csv_path, lines);
    const std::vector<EpochRecord> records = leading_epochs(csv_path, lines, epochs_done);
    std::string config_line = existing_config_line(log.jsonl_path_);
    if (config_line.empty()) config_line = jsonl_config_line(config);

    std::string csv = std::string(training_log_header) + "\n", jsonl = config_line + "\n";
    for (const EpochRecord &record : records) {
        csv += format_csv_row(record) + "\n";
        jsonl += jsonl_epoch_line(record) + "\n";
    }
    // CSV first: it is the source of truth, so a crash between the two renames is repaired by the
    // next resume, which rebuilds the JSONL epochs from it.
    replace_file(log.csv_path_, csv);
    replace_file(log.jsonl_path_, jsonl);
    return log;
}

void TrainingLog::append(const EpochRecord &record) const {
    const off_t csv_size = file_size_or_zero(csv_path_);
    write_file(csv_path_, format_csv_row(record) + "\n", "ab");
    try {
        write_file(jsonl_path_, jsonl_epoch_line(record) + "\n", "ab");
    } catch (const Error &) {
        undo_write(csv_path_, true, csv_size);  // the two files hold the same epochs
        throw;
    }
}

std::vector<EpochRecord> read_training_log(const std::string &csv_path) {
    const std::vector<Line> lines = split_lines(read_whole_file(csv_path, "training log"));
    check_header(csv_path, lines);
    std::vector<EpochRecord> records;
    for (size_t i = 1; i < lines.size(); i++) {
        EpochRecord record = parse_row(lines[i], csv_path);
        if (!records.empty() && record.epoch <= records.back().epoch) {
            throw Error(field_where(csv_path, lines[i].number, 0) + ": epoch " + std::to_string(record.epoch) +
                        " does not follow epoch " + std::to_string(records.back().epoch));
        }
        records.push_back(record);
    }
    return records;
}

void plot_training_log(const std::string &csv_path, const std::string &png_path) {
    const std::vector<EpochRecord> records = read_training_log(csv_path);
    if (records.empty()) throw Error(csv_path + ": no epochs to plot (the log holds only its header)");
    run_gnuplot(plot_script(csv_path, records, png_path), png_path);
}

std::string format_epoch_line(const EpochRecord &r, int total_epochs) {
    return strprintf("epoch %d/%d  train_loss %.4f train_acc %.4f  test_loss %.4f test_acc %.4f  %.1f images/s  %.1f s",
                     r.epoch, total_epochs, r.train_loss, r.train_acc, r.test_loss, r.test_acc, r.images_per_s,
                     r.seconds);
}

}  // namespace hnn
