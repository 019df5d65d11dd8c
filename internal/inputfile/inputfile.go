// Package inputfile reads the files a user hands pgchaos (scenarios,
// reports) so that no input can hang a command or exhaust memory: only
// regular files are read, never more than a stated size.
package inputfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Read returns the contents of the regular file at path. what names the
// file in messages ("scenario", "report"); max is the largest size read.
//
// A named pipe, device, socket or directory is refused before anything is
// read from it: the file is opened non-blocking (so a FIFO with no writer
// does not block the open) and checked with fstat on the descriptor itself
// (so it cannot be swapped after a check by name). /dev/zero and friends
// are character devices and refused the same way. A regular file that
// grows while it is read is cut at max+1 bytes and refused.
func Read(path, what string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w (check the path)", what, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("read %s %s: it is %s, not a regular file: pass the path of a %s file", what, path, kind(st.Mode()), what)
	}
	if st.Size() > max {
		return nil, tooLarge(what, path, st.Size(), max)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if int64(len(b)) > max {
		return nil, tooLarge(what, path, int64(len(b)), max)
	}
	return b, nil
}

func tooLarge(what, path string, size, max int64) error {
	return fmt.Errorf("read %s %s: %s is larger than the %s a %s may be: is this the right file?", what, path, bytes(size), bytes(max), what)
}

// bytes prints a size the way a person reads it: 12 MiB, 300 KiB, 17 B.
func bytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file"
}
