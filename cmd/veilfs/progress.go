package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// fileBar is the progress bar of the offline commands (rotate, fsck): bytes
// done with rate and time left, and files done out of the total. It draws
// only on a terminal; elsewhere, or when off, it does nothing.
type fileBar struct {
	w     io.Writer
	label string // e.g. "checking " before "12/345 files"
	bar   *progressbar.ProgressBar
	off   bool
}

func newFileBar(w io.Writer, off bool, label string) *fileBar {
	f, ok := w.(*os.File)
	return &fileBar{w: w, label: label, off: off || !ok || !term.IsTerminal(int(f.Fd()))}
}

// set shows the progress; totals come from a scan, so the bar is made on
// the first call.
func (b *fileBar) set(files, totalFiles, bytes, totalBytes int64) {
	if b.off {
		return
	}
	if b.bar == nil {
		b.bar = progressbar.NewOptions64(max(totalBytes, 1),
			progressbar.OptionSetWriter(b.w),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30),
			progressbar.OptionClearOnFinish(),
		)
	}
	b.bar.Describe(fmt.Sprintf("%s%d/%d files", b.label, files, totalFiles))
	b.bar.Set64(bytes)
}

// clear removes the bar, before a message or at the end.
func (b *fileBar) clear() {
	if b.bar != nil {
		b.bar.Clear()
	}
}
