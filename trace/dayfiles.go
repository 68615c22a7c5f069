package trace

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// importDayFiles moves the events of an older version's day files (dir/*.jsonl, one JSON
// event a line) into the store, removing each file once its events are in, and the
// directory when it is empty. A file that cannot be read whole is left in place and
// logged. It is idempotent: every chunk of a file carries the key "f:NAME", and an
// import interrupted before the file was removed is dropped and done again.
func (r *Recorder) importDayFiles(ctx context.Context) {
	if r.o.ImportDir == "" {
		return
	}
	files, _ := filepath.Glob(filepath.Join(r.o.ImportDir, "*.jsonl"))
	sort.Strings(files)
	for _, f := range files {
		if err := r.importDayFile(ctx, f); err != nil {
			r.o.Log.Warn("trace: importing a day file", "file", f, "err", err)
			continue
		}
		if err := os.Remove(f); err != nil {
			r.o.Log.Warn("trace: removing an imported day file", "file", f, "err", err)
		}
	}
	if len(files) > 0 {
		_ = os.Remove(r.o.ImportDir) // only when empty
	}
}

func (r *Recorder) importDayFile(ctx context.Context, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("trace: %w", err)
	}
	defer f.Close()
	key := "f:" + filepath.Base(name)
	if err := r.o.Store.DeleteTraceWith(ctx, key); err != nil {
		return err
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var batch []Event
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		c := chunk(batch, key)
		batch = batch[:0]
		return r.o.Store.AppendTrace(ctx, c)
	}
	for sc.Scan() {
		var e Event
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.What == "" {
			continue // a torn last line
		}
		if batch = append(batch, e); len(batch) == r.o.Batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("trace: reading %s: %w", name, err)
	}
	return flush()
}
