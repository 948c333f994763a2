package calllog

import "time"

// OpenPruningEvery is Open with the writer pruning every d.
func OpenPruningEvery(path string, opts Options, d time.Duration) (*Log, error) {
	l, err := open(path, opts)
	if err != nil {
		return nil, err
	}
	l.pruneEvery = d
	go l.writer()
	return l, nil
}

// HoldWriter stops the writer, once it has written what is queued,
// until release is called.
func (l *Log) HoldWriter() (release func()) {
	hold := make(chan struct{})
	l.ops <- op{hold: hold}
	return func() { close(hold) }
}
