package run

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"time"
)

// LogEntry is one line of a container's log, in docker's json-file shape.
type LogEntry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// LogOptions selects what ReadLogs returns.
type LogOptions struct {
	Tail       int // lines from the end; < 0 for all
	Timestamps bool
}

// ReadLogs writes the log's lines to stdout and stderr as they were written by the
// container, and returns the offset it read up to (for following).
func ReadLogs(path string, o LogOptions, stdout, stderr io.Writer) (int64, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var entries []LogEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	var offset int64
	for sc.Scan() {
		offset += int64(len(sc.Bytes())) + 1
		var e LogEntry
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		entries = append(entries, e)
		if o.Tail >= 0 && len(entries) > o.Tail {
			entries = entries[1:]
		}
	}
	for _, e := range entries {
		writeEntry(e, o, stdout, stderr)
	}
	return offset, sc.Err()
}

// FollowLogs writes entries appended after offset until stop says the container is done.
func FollowLogs(path string, offset int64, o LogOptions, stdout, stderr io.Writer, done func() bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return err
	}
	br := bufio.NewReaderSize(f, 64*1024)
	var partial []byte
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			partial = append(partial, line...)
			if partial[len(partial)-1] == '\n' {
				var e LogEntry
				if json.Unmarshal(partial, &e) == nil {
					writeEntry(e, o, stdout, stderr)
				}
				partial = nil
			}
		}
		if err == io.EOF {
			if done() {
				// One more pass: the supervisor may have written between the read and done().
				if rest, _ := io.ReadAll(br); len(rest) == 0 {
					return nil
				} else {
					br = bufio.NewReaderSize(io.MultiReader(bytesReader(rest), f), 64*1024)
				}
				continue
			}
			// Appends are rare and small: a short wait between reads costs nothing.
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if err != nil {
			return err
		}
	}
}

func writeEntry(e LogEntry, o LogOptions, stdout, stderr io.Writer) {
	w := stdout
	if e.Stream == "stderr" {
		w = stderr
	}
	if o.Timestamps {
		io.WriteString(w, e.Time.Format(time.RFC3339Nano)+" ")
	}
	io.WriteString(w, e.Log)
}

type byteReader struct {
	b []byte
}

func (r *byteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func bytesReader(b []byte) io.Reader { return &byteReader{b} }
