"""heatshrink2.core for bench/delta.sh: the three classes detools' heatshrink compressor uses
(Writer, Reader, Encoder), over the heatshrink 0.4.1 C encoder built from ../shared by the
benchmark (libheatshrink.so beside this file, loaded with ctypes). Debian has no heatshrink2 and
PyPI is not reachable here; only compression is needed (detools creates patches, it does not
apply them in the benchmark).
"""

import ctypes
import os

_LIB = ctypes.CDLL(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'libheatshrink.so'))
_LIB.heatshrink_encoder_alloc.restype = ctypes.c_void_p
_LIB.heatshrink_encoder_alloc.argtypes = [ctypes.c_uint8, ctypes.c_uint8]
_LIB.heatshrink_encoder_free.argtypes = [ctypes.c_void_p]
_LIB.heatshrink_encoder_sink.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                                         ctypes.POINTER(ctypes.c_size_t)]
_LIB.heatshrink_encoder_poll.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                                         ctypes.POINTER(ctypes.c_size_t)]
_LIB.heatshrink_encoder_finish.argtypes = [ctypes.c_void_p]

_POLL_MORE = 1
_FINISH_MORE = 1


class Writer:
    def __init__(self, window_sz2=11, lookahead_sz2=4):
        self._hse = _LIB.heatshrink_encoder_alloc(window_sz2, lookahead_sz2)
        if not self._hse:
            raise ValueError('heatshrink_encoder_alloc({}, {})'.format(window_sz2,
                                                                       lookahead_sz2))

    def _drain(self):
        out = bytearray()
        buf = ctypes.create_string_buffer(4096)
        n = ctypes.c_size_t()
        while True:
            res = _LIB.heatshrink_encoder_poll(self._hse, buf, len(buf), ctypes.byref(n))
            if res < 0:
                raise RuntimeError('heatshrink_encoder_poll: {}'.format(res))
            out += buf.raw[:n.value]
            if res != _POLL_MORE:
                return bytes(out)

    def fill(self, data):
        out = bytearray()
        data = bytes(data)
        n = ctypes.c_size_t()
        while data:
            if _LIB.heatshrink_encoder_sink(self._hse, data, len(data), ctypes.byref(n)) < 0:
                raise RuntimeError('heatshrink_encoder_sink')
            data = data[n.value:]
            out += self._drain()
        return bytes(out)

    def finish(self):
        out = bytearray()
        while _LIB.heatshrink_encoder_finish(self._hse) == _FINISH_MORE:
            out += self._drain()
        _LIB.heatshrink_encoder_free(self._hse)
        self._hse = None
        return bytes(out)


class Reader:
    def __init__(self, window_sz2=11, lookahead_sz2=4):
        raise NotImplementedError('decoding is not needed by bench/delta.sh')


class Encoder:
    def __init__(self, coder):
        self._coder = coder

    def fill(self, data):
        return self._coder.fill(data)

    def finish(self):
        return self._coder.finish()
