package trace

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
)

// importDayFiles moves the events of an older version's day files (dir/*.jsonl, one JSON
// event a line) into the store, removing each file once its events are in, and the
// directory when it is empty; it returns the size added. A file that cannot be read
// whole is left in place and logged.
func (r *Recorder) importDayFiles(ctx context.Context) int64 {
	if r.o.ImportDir == "" {
		return 0
	}
	files, _ := filepath.Glob(filepath.Join(r.o.ImportDir, "*.jsonl"))
	sort.Strings(files)
	var total int64
	for _, f := range files {
		n, err := r.importDayFile(ctx, f)
		if err != nil {
			r.o.Log.Warn("trace: importing a day file", "file", f, "err", err)
			continue
		}
		total += n
		if err := os.Remove(f); err != nil {
			r.o.Log.Warn("trace: removing an imported day file", "file", f, "err", err)
		}
	}
	if len(files) > 0 {
		_ = os.Remove(r.o.ImportDir) // only when empty
	}
	return total
}

func (r *Recorder) importDayFile(ctx context.Context, name string) (int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var total int64
	var batch []Event
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		c := chunk(batch)
		batch = batch[:0]
		if err := r.o.Store.AppendTrace(ctx, c); err != nil {
			return err
		}
		total += c.Size
		return nil
	}
	for sc.Scan() {
		var e Event
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.What == "" {
			continue // a torn last line
		}
		if batch = append(batch, e); len(batch) == r.o.Batch {
			if err := flush(); err != nil {
				return total, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return total, err
	}
	return total, flush()
}
