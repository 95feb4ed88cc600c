package analytics

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// LibPathEnv names the variable that locates libchdb.so when
// ChDBConfig.LibPath is empty. It holds the library file itself (it is
// handed to dlopen), as with github.com/chdb-io/chdb-go.
const LibPathEnv = "CHDB_LIB_PATH"

// ErrNoLibrary is returned (wrapped) by OpenChDB when libchdb.so cannot be
// loaded.
var ErrNoLibrary = errors.New("libchdb.so not loadable")

// chdbLib is libchdb's stable C API (chdb.h, "new API"), bound lazily with
// purego. github.com/chdb-io/chdb-go binds the same functions, but in a
// package init that panics when the library is missing, which would take
// down every binary and test that links this package on a machine without
// chDB; here a missing library is an error from OpenChDB.
type chdbLib struct {
	path string

	// chdb_connection *chdb_connect(int argc, char **argv)
	connect func(argc int32, argv **byte) *unsafe.Pointer
	// void chdb_close_conn(chdb_connection *conn)
	closeConn func(conn *unsafe.Pointer)
	// chdb_result *chdb_query(chdb_connection conn, const char *query, const char *format)
	query func(conn unsafe.Pointer, query, format string) unsafe.Pointer
	// void chdb_destroy_query_result(chdb_result *result)
	destroy func(res unsafe.Pointer)
	// char *chdb_result_buffer(chdb_result *result)
	buffer func(res unsafe.Pointer) *byte
	// size_t chdb_result_length(chdb_result *result)
	length func(res unsafe.Pointer) uintptr
	// const char *chdb_result_error(chdb_result *result)
	resultError func(res unsafe.Pointer) string
}

var (
	// The library is process-wide: it is loaded once (a failed attempt is
	// not remembered), and holds at most one open connection (chdb_connect
	// closes any other).
	libMu sync.Mutex
	lib   *chdbLib
)

// loadLib loads libchdb.so from path, or from CHDB_LIB_PATH when path is
// empty, or else by the dynamic linker's search. Once loaded, an empty
// path means the loaded library, and another path is an error.
func loadLib(path string) (*chdbLib, error) {
	libMu.Lock()
	defer libMu.Unlock()
	if lib != nil {
		if path != "" && path != lib.path {
			return nil, fmt.Errorf("%w: libchdb.so is already loaded from %s; cannot load %s as well", ErrNoLibrary, lib.path, path)
		}
		return lib, nil
	}
	if path == "" {
		path = os.Getenv(LibPathEnv)
	}
	if path == "" {
		path = "libchdb.so"
	}
	l, err := bindLib(path)
	if err != nil {
		return nil, err
	}
	lib = l
	return lib, nil
}

func bindLib(path string) (*chdbLib, error) {
	if strings.Contains(path, "/") {
		if st, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("%w: %s=%s: %w (install it with `deploy/local/services up chdb`)", ErrNoLibrary, LibPathEnv, path, err)
		} else if st.IsDir() {
			return nil, fmt.Errorf("%w: %s is a directory; %s must name the libchdb.so file itself", ErrNoLibrary, path, LibPathEnv)
		}
	}
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("%w: dlopen %s: %w (set %s to the libchdb.so file; `deploy/local/services up chdb` installs one)", ErrNoLibrary, path, err, LibPathEnv)
	}
	l := &chdbLib{path: path}
	for _, f := range []struct {
		name string
		fptr any
	}{
		{"chdb_connect", &l.connect},
		{"chdb_close_conn", &l.closeConn},
		{"chdb_query", &l.query},
		{"chdb_destroy_query_result", &l.destroy},
		{"chdb_result_buffer", &l.buffer},
		{"chdb_result_length", &l.length},
		{"chdb_result_error", &l.resultError},
	} {
		sym, err := purego.Dlsym(h, f.name)
		if err != nil {
			return nil, fmt.Errorf("%w: %s has no %s (chDB 2.x or newer is needed): %w", ErrNoLibrary, path, f.name, err)
		}
		purego.RegisterFunc(f.fptr, sym)
	}
	return l, nil
}

// open starts the engine on args (clickhouse-local's command line, without
// the program name) and returns the connection handle.
func (l *chdbLib) open(args []string) (*unsafe.Pointer, error) {
	argv := append([]string{"clickhouse"}, args...)
	bufs := make([][]byte, len(argv))
	cargv := make([]*byte, len(argv))
	for i, a := range argv {
		if strings.IndexByte(a, 0) >= 0 {
			return nil, fmt.Errorf("chdb: argument %q holds a NUL byte", a)
		}
		bufs[i] = append([]byte(a), 0)
		cargv[i] = &bufs[i][0]
	}
	saved := saveSignals()
	conn := l.connect(int32(len(cargv)), &cargv[0])
	saved.restore()
	runtime.KeepAlive(bufs)
	runtime.KeepAlive(cargv)
	if conn == nil || *conn == nil {
		return nil, fmt.Errorf("chdb: chdb_connect %s failed (see the engine's messages on stderr)", strings.Join(args, " "))
	}
	return conn, nil
}

// run executes one query and returns its output in format.
func (l *chdbLib) run(conn *unsafe.Pointer, query, format string) ([]byte, error) {
	if strings.IndexByte(query, 0) >= 0 {
		return nil, errors.New("query holds a NUL byte")
	}
	res := l.query(*conn, query, format)
	if res == nil {
		return nil, errors.New("chdb_query returned no result")
	}
	defer l.destroy(res)
	if msg := l.resultError(res); msg != "" {
		return nil, errors.New(strings.TrimSpace(msg))
	}
	n := l.length(res)
	if n == 0 {
		return nil, nil
	}
	buf := l.buffer(res)
	if buf == nil {
		return nil, nil
	}
	return append([]byte(nil), unsafe.Slice(buf, n)...), nil
}
