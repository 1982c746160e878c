"""What every image service must agree on: which formats, how they are told apart, how errors
are named, and how an image is oriented (and so its displayed size).

Imported by ingest, the thumbnailer and the metadata-extractor (never by the package's
``__init__``: the indexer carries no Pillow). One function decides each fact, so the services
cannot disagree about the same file:

* :func:`sniff` names a file from its first bytes (for ISO-BMFF files, the ``ftyp`` box's major
  and compatible brands), never from its name or declared type;
* :func:`open_image` opens it with the plugin of that format only (headers, no pixels), so a file
  is never parsed by a plugin the pipeline does not accept (DDS, EPS, ...);
* :func:`classify` turns whatever opening or decoding an untrusted file raised into a permanent
  error with a reason code: ``decompression_bomb``, ``unsupported_type`` or ``corrupt``;
* :func:`read_orientation` finds the orientation wherever the file keeps it (EXIF, a PNG ``eXIf``
  chunk before or after the pixels, ImageMagick's "Raw profile type exif" text chunk, XMP
  ``tiff:Orientation``, HEIF's ``irot``/``imir``), without decoding pixels, and says whether the
  decoder already applies it (TIFF, HEIF) or the caller must.

HEIC/HEIF is decoded by pi-heif (the decode-only build of pillow-heif: libheif and libde265,
LGPL-3.0, no x265 encoder), AVIF by Pillow's own plugin (libavif, built into Pillow's wheels).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Final

from PIL import (
    AvifImagePlugin,
    ExifTags,
    GifImagePlugin,
    Image,
    ImageFile,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)

from media_shared.exceptions import (
    CorruptImageError,
    DecompressionBombError,
    PermanentError,
    TransientError,
    UnsupportedImageError,
)

__all__ = [
    "CONTENT_TYPES",
    "FORMATS",
    "Orientation",
    "Sniffed",
    "classify",
    "exif_bytes",
    "metadata_info",
    "open_image",
    "read_orientation",
    "register_decoders",
    "sniff",
]

#: Formats the pipeline accepts, by the name the events use, with their canonical content type.
CONTENT_TYPES: Final[dict[str, str]] = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "tiff": "image/tiff",
    "heic": "image/heic",
    "avif": "image/avif",
}
#: Pillow's format names -> the pipeline's (MPO: a camera JPEG with a Multi-Picture index).
FORMATS: Final[dict[str, str]] = {
    "JPEG": "jpeg",
    "MPO": "jpeg",
    "PNG": "png",
    "WEBP": "webp",
    "GIF": "gif",
    "TIFF": "tiff",
    "HEIF": "heic",
    "AVIF": "avif",
}
ALLOWED_DESCRIPTION: Final = ", ".join(CONTENT_TYPES.values())

# ISO-BMFF brands (ftyp). HEIF with HEVC: heic/heix (still), hevc/hevx (sequence), heim/heis
# (multi-layer); AVIF: avif (still), avis (sequence). mif1/msf1 alone say "HEIF container".
HEIC_BRANDS: Final = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"})
AVIF_BRANDS: Final = frozenset({b"avif", b"avis"})
CONTAINER_BRANDS: Final = frozenset({b"mif1", b"msf1"})

_registered = False


def register_decoders() -> None:
    """Make Pillow able to open HEIC/HEIF (pi-heif); AVIF is Pillow's own. Idempotent."""
    global _registered
    if _registered:
        return
    from pi_heif import register_heif_opener

    # No thumbnails or depth images: only the primary image is ever read.
    register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
    _registered = True


def _opener(name: str) -> Callable[[IO[bytes]], ImageFile.ImageFile]:
    if name == "heic":
        register_decoders()
        from pi_heif.as_plugin import HeifImageFile

        heif: Callable[[IO[bytes]], ImageFile.ImageFile] = HeifImageFile
        return heif
    openers: dict[str, Callable[[IO[bytes]], ImageFile.ImageFile]] = {
        # The factory, not JpegImageFile: it opens a Multi-Picture JPEG as MPO.
        "jpeg": JpegImagePlugin.jpeg_factory,
        "png": PngImagePlugin.PngImageFile,
        "webp": WebPImagePlugin.WebPImageFile,
        "gif": GifImagePlugin.GifImageFile,
        "tiff": TiffImagePlugin.TiffImageFile,
        "avif": AvifImagePlugin.AvifImageFile,
    }
    return openers[name]


# --------------------------------------------------------------------------------------------
# Sniffing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sniffed:
    """What the first bytes say. ``format`` is set only for a format the pipeline accepts."""

    format: str | None
    content_type: str | None


def _brands(head: bytes) -> tuple[bytes, set[bytes]] | None:
    """The major brand and the compatible brands of an ISO-BMFF ``ftyp`` box at offset 0."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    size = int.from_bytes(head[0:4], "big")
    end = min(len(head), size) if size >= 16 else 16
    compatible = {head[offset : offset + 4] for offset in range(16, end - 3, 4)}
    return head[8:12], compatible


def sniff(head: bytes) -> Sniffed:
    """Identify a file by its first bytes (64 are enough for every format here)."""
    if head.startswith(b"\xff\xd8\xff"):
        return _allowed("jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _allowed("png")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _allowed("webp")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return _allowed("gif")
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return _allowed("tiff")
    brands = _brands(head)
    if brands is not None:
        major, compatible = brands
        every = {major, *compatible}
        # The major brand decides; a compatible brand only when the major one is generic.
        if major in AVIF_BRANDS:
            return _allowed("avif")
        if major in HEIC_BRANDS:
            return _allowed("heic")
        if major in CONTAINER_BRANDS or not every.isdisjoint(AVIF_BRANDS | HEIC_BRANDS):
            if not every.isdisjoint(AVIF_BRANDS):
                return _allowed("avif")
            if not every.isdisjoint(HEIC_BRANDS):
                return _allowed("heic")
            return Sniffed(format=None, content_type="image/heif")
        return Sniffed(format=None, content_type="video/mp4")
    return Sniffed(format=None, content_type=_other_content_type(head))


def _allowed(name: str) -> Sniffed:
    return Sniffed(format=name, content_type=CONTENT_TYPES[name])


def _other_content_type(head: bytes) -> str | None:
    """A best guess for files the pipeline refuses, to make the rejection's detail useful."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        return "application/zip"
    if head.startswith(b"\x1f\x8b"):
        return "application/gzip"
    if head.startswith(b"BM"):
        return "image/bmp"
    if head.startswith(b"DDS "):
        return "image/vnd-ms.dds"
    if b"<svg" in head.lower():
        return "image/svg+xml"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character may be cut at the end of the sniffed bytes.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return None
    if text and all(ch.isprintable() or ch in "\t\r\n" for ch in text):
        return "text/plain"
    return None


# --------------------------------------------------------------------------------------------
# Errors: one reason for one file, whichever service meets it
# --------------------------------------------------------------------------------------------

# Pillow raises ValueError("Decompressed data too large ...") for a text, ICC or XMP chunk that
# inflates past its limit: a decompression bomb in the metadata, not a broken file.
# libheif says "Security limit exceeded" for an image over its own size and memory limits.
_BOMB_MESSAGES: Final = (
    "decompressed data too large",
    "decompression bomb",
    "security limit exceeded",
)


def classify(error: BaseException, *, what: str) -> PermanentError:
    """The permanent error (with its reason) for what opening or decoding a file raised.

    ``what`` says which step failed ("the heic header", "the png data") for the message. Every
    exception maps to a reason, so a file can never be retried forever for being what it is:
    ``decompression_bomb`` for Pillow's bomb guard and for metadata chunks that inflate past
    their limit; ``unsupported_type`` for a variant Pillow recognises but cannot decode
    (``NotImplementedError``, e.g. DDS or TIFF variants); ``corrupt`` for anything else.
    """
    if isinstance(error, PermanentError):
        return error
    if isinstance(error, TransientError | MemoryError):
        raise error
    message = f"{what}: {type(error).__name__}: {error}"
    if isinstance(error, Image.DecompressionBombError) or any(
        marker in str(error).lower() for marker in _BOMB_MESSAGES
    ):
        return DecompressionBombError(message)
    if isinstance(error, NotImplementedError):
        return UnsupportedImageError(f"{message} (a variant this pipeline cannot decode)")
    return CorruptImageError(message)


_CONTAINERS: Final = frozenset({b"meta", b"iprp", b"ipco"})
_FULL_BOXES: Final = frozenset({b"meta"})
_MAX_META_BYTES: Final = 1024 * 1024


@dataclass(frozen=True)
class HeifProperties:
    """What a HEIF-family file's ``meta`` box declares: the largest ``ispe`` and the transforms
    (``irot``, ``imir``) in the order they are listed."""

    largest: tuple[int, int] | None
    transforms: tuple[tuple[bytes, int], ...]


def heif_properties(stream: IO[bytes]) -> HeifProperties:
    """The declared sizes and transforms of a HEIF-family file; decodes nothing.

    Walks only the ``meta`` box (ftyp, meta, iprp, ipco and its properties), reading at most
    1 MiB, and puts the stream back where it was. A grid image declares its whole canvas, so the
    largest ``ispe`` is what a decoder would allocate.
    """
    start = stream.tell()
    try:
        stream.seek(0)
        data = stream.read(_MAX_META_BYTES)
    finally:
        stream.seek(start)
    largest: tuple[int, int] | None = None
    transforms: list[tuple[bytes, int]] = []

    def walk(offset: int, end: int, depth: int) -> None:
        nonlocal largest
        while offset + 8 <= end and depth < 8:
            size = int.from_bytes(data[offset : offset + 4], "big")
            kind = data[offset + 4 : offset + 8]
            header = 8
            if size == 1 and offset + 16 <= end:
                size, header = int.from_bytes(data[offset + 8 : offset + 16], "big"), 16
            elif size == 0:
                size = end - offset
            if size < header:
                return
            box_end = min(end, offset + size)
            body = offset + header
            if kind == b"ispe" and body + 12 <= box_end:
                width = int.from_bytes(data[body + 4 : body + 8], "big")  # after version, flags
                height = int.from_bytes(data[body + 8 : body + 12], "big")
                if largest is None or width * height > largest[0] * largest[1]:
                    largest = (width, height)
            elif kind in (b"irot", b"imir") and body < box_end:
                transforms.append((kind, data[body] & (0x03 if kind == b"irot" else 0x01)))
            elif kind in _CONTAINERS:
                walk(body + (4 if kind in _FULL_BOXES else 0), box_end, depth + 1)
            offset += size

    walk(0, len(data), 0)
    return HeifProperties(largest, tuple(transforms))


def heif_declared_size(stream: IO[bytes]) -> tuple[int, int] | None:
    """The largest image size a HEIF-family file declares (its ``ispe`` properties), or None."""
    return heif_properties(stream).largest


def open_image(
    stream: IO[bytes], *, max_pixels: int, head: bytes | None = None
) -> tuple[ImageFile.ImageFile, Sniffed]:
    """``stream`` opened (headers only) by the plugin of its sniffed format; never decoded.

    Raises UnsupportedImageError (a format outside the pipeline's), DecompressionBombError (more
    than ``max_pixels`` declared), CorruptImageError, or a PermanentError ``empty`` for 0 bytes:
    the reasons ingest gives the same file. Pillow's process-wide bomb limit plays no
    part: ``max_pixels`` decides, the same in every service.
    """
    if head is None:
        start = stream.tell()
        head = stream.read(64)
        stream.seek(start)
    if not head:
        raise PermanentError("the file has 0 bytes", reason="empty")
    sniffed = sniff(head)
    if sniffed.format is None:
        found = sniffed.content_type or "an unrecognised type"
        raise UnsupportedImageError(f"sniffed {found}; allowed: {ALLOWED_DESCRIPTION}")
    name = sniffed.format
    if name in ("heic", "avif"):
        # The decoders enforce limits of their own, with messages of their own (libavif's is
        # "BMFF parsing failed"): the declared size is checked first, so a bomb is named one.
        declared = heif_declared_size(stream)
        if declared is not None and declared[0] * declared[1] > max_pixels:
            width, height = declared
            raise DecompressionBombError(
                f"image is {width}x{height} = {width * height} pixels, over the limit of "
                f"{max_pixels}"
            )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = _opener(name)(stream)
    except Exception as error:  # every plugin raises its own types for a bad header
        raise classify(error, what=f"the {name} header cannot be read") from None
    width, height = image.size
    if width < 1 or height < 1:
        image.close()
        raise CorruptImageError(f"the {name} header declares {width}x{height}")
    if width * height > max_pixels:
        image.close()
        raise DecompressionBombError(
            f"image is {width}x{height} = {width * height} pixels, over the limit of {max_pixels}"
        )
    return image, sniffed


# --------------------------------------------------------------------------------------------
# Orientation: one truth
# --------------------------------------------------------------------------------------------

_XMP_ORIENTATION: Final = re.compile(rb"tiff:Orientation(?:=[\"']|>)\s*([1-8])")
_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_PNG_TEXT_CHUNKS: Final = frozenset({b"tEXt", b"zTXt", b"iTXt"})
_PNG_MAX_METADATA: Final = 16 * 1024 * 1024
_TURNED: Final = frozenset({5, 6, 7, 8})


@dataclass(frozen=True)
class Orientation:
    """How an image is to be shown.

    ``value`` is the EXIF orientation (1..8) the file declares, 1 when it declares none (or a
    value out of range); ``source`` where it was found: ``exif``, ``raw-profile``, ``xmp``,
    ``heif`` (its ``irot``/``imir`` transforms: an EXIF copy in a HEIC is informative only, and
    ignored, as HEIF decoders do) or ``none``. ``applied_by_decoder`` is true when
    Pillow's plugin already gives pixels and size as displayed (TIFF, HEIF); otherwise the caller
    applies ``pending`` after decoding.
    """

    value: int = 1
    source: str = "none"
    applied_by_decoder: bool = False
    malformed: object = None

    @property
    def pending(self) -> int:
        """The orientation still to apply to the decoded pixels (1: nothing to do)."""
        return 1 if self.applied_by_decoder else self.value

    def displayed(self, size: tuple[int, int]) -> tuple[int, int]:
        """The displayed width and height of an image whose plugin reports ``size``."""
        return (size[1], size[0]) if self.pending in _TURNED else size

    def stored(self, size: tuple[int, int]) -> tuple[int, int]:
        """The inverse of :meth:`displayed`: from displayed dimensions to the decoder's."""
        return self.displayed(size)


def _exif_orientation(exif: Image.Exif) -> object:
    """The raw Orientation value of ``exif`` (None when it has none)."""
    if ExifTags.Base.Orientation not in exif:
        return None
    value: object = exif[ExifTags.Base.Orientation]
    return value


def _checked(value: object, source: str, *, applied: bool) -> Orientation:
    if isinstance(value, tuple) and len(value) == 1:
        value = value[0]
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 8:
        return Orientation(value, source, applied)
    return Orientation(1, source, applied, malformed=value)


def _exif_from(data: bytes) -> Image.Exif:
    exif = Image.Exif()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exif.load(data)
    return exif


def _raw_profile(text: str) -> bytes:
    """ImageMagick's "Raw profile type exif": a name line, a length line, then hex digits."""
    return bytes.fromhex("".join(text.split("\n")[3:]))


def _xmp_orientation(xmp: object) -> int | None:
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8", "replace")
    if not isinstance(xmp, bytes | bytearray):
        return None
    match = _XMP_ORIENTATION.search(xmp)
    return int(match[1]) if match else None


def _png_late_chunks(image: ImageFile.ImageFile) -> dict[str, object]:
    """The metadata chunks of a PNG after its first IDAT, read by walking chunk headers.

    Pillow's ``info`` holds only the chunks before the pixels until the image is decoded; this
    reads the rest without decoding (the pixel chunks are skipped with a seek), then puts the
    stream back where it was.
    """
    stream = image.fp
    found: dict[str, object] = {}
    if stream is None:
        return found
    position = stream.tell()
    try:
        stream.seek(len(_PNG_SIGNATURE))
        budget = _PNG_MAX_METADATA
        while True:
            header = stream.read(8)
            if len(header) < 8:
                break
            length, kind = int.from_bytes(header[:4], "big"), header[4:8]
            if kind == b"IEND":
                break
            if (kind == b"eXIf" or kind in _PNG_TEXT_CHUNKS) and length <= budget:
                budget -= length
                data = stream.read(length)
                stream.seek(4, 1)
                if kind == b"eXIf":
                    found.setdefault("exif", data)
                else:
                    _png_text(kind, data, found)
            else:
                stream.seek(length + 4, 1)
    except (OSError, ValueError, EOFError):
        pass  # a broken tail costs only what it would have told
    finally:
        stream.seek(position)
    return found


def _png_text(kind: bytes, data: bytes, found: dict[str, object]) -> None:
    import zlib

    keyword, _, rest = data.partition(b"\0")
    name = keyword.decode("latin-1")
    if name not in ("Raw profile type exif", "XML:com.adobe.xmp"):
        return
    try:
        if kind == b"zTXt":
            value = zlib.decompressobj().decompress(rest[1:], _PNG_MAX_METADATA)
        elif kind == b"iTXt":
            compressed, rest = rest[0], rest[2:]
            _language, _, rest = rest.partition(b"\0")
            _translated, _, value = rest.partition(b"\0")
            if compressed:
                value = zlib.decompressobj().decompress(value, _PNG_MAX_METADATA)
        else:
            value = rest
    except (zlib.error, IndexError):
        return
    found.setdefault(name, value.decode("latin-1" if kind != b"iTXt" else "utf-8", "replace"))


def metadata_info(image: ImageFile.ImageFile) -> dict[str, object]:
    """``image.info`` plus, for a PNG not yet decoded, its metadata chunks after the pixels."""
    info: dict[str, object] = {str(key): value for key, value in image.info.items()}
    if image.format == "PNG" and "exif" not in info:
        for key, value in _png_late_chunks(image).items():
            info.setdefault(key, value)
    return info


def exif_bytes(info: dict[str, object]) -> bytes | None:
    """The EXIF block in ``info`` (from :func:`metadata_info`): EXIF itself, else a raw profile."""
    data = info.get("exif")
    if isinstance(data, bytes) and data:
        return data
    raw = info.get("Raw profile type exif")
    if isinstance(raw, str):
        try:
            return _raw_profile(raw) or None
        except ValueError:
            return None
    return None


# EXIF orientation -> the transpose that displays the stored pixels (ImageOps.exif_transpose's).
_EXIF_TRANSPOSE: Final = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}


def _probe() -> Image.Image:
    probe = Image.new("L", (3, 2))
    probe.putdata(range(6))
    return probe


def orientation_of_transforms(transforms: tuple[tuple[bytes, int], ...]) -> int:
    """The EXIF orientation equal to HEIF ``irot`` (anticlockwise quarter turns) and ``imir``,
    applied in order. ``imir`` as libheif (the decoder) reads it: 0 flips top-bottom, 1
    left-right (checked against decoded pixels in the tests)."""
    shown = _probe()
    for kind, value in transforms:
        if kind == b"irot":
            for _ in range(value):
                shown = shown.transpose(Image.Transpose.ROTATE_90)
        else:
            flip = (
                Image.Transpose.FLIP_TOP_BOTTOM if value == 0 else Image.Transpose.FLIP_LEFT_RIGHT
            )
            shown = shown.transpose(flip)
    for value in range(1, 9):
        candidate = _probe()
        for step in _EXIF_TRANSPOSE.get(value, ()):
            candidate = candidate.transpose(step)
        if candidate.size == shown.size and candidate.tobytes() == shown.tobytes():
            return value
    return 1  # pragma: no cover - the eight cover every composition


def read_orientation(image: ImageFile.ImageFile) -> Orientation:
    """The orientation of an opened (not necessarily decoded) image; decodes no pixels.

    Where a file has several, the first found in this order wins: EXIF (for PNG: an ``eXIf``
    chunk before or after the pixels), ImageMagick's raw EXIF profile, XMP ``tiff:Orientation``.
    HEIF's orientation is its ``irot``/``imir`` transforms, which libheif applies on decode (the
    EXIF copy is informative only).
    """
    if image.format == "HEIF":
        # libheif applies irot/imir; an EXIF orientation without them is not applied by HEIF
        # decoders (the format says so), so the transforms are the truth, whatever EXIF says.
        transforms = heif_properties(image.fp).transforms if image.fp is not None else ()
        if not transforms:
            return Orientation(1, "none", applied_by_decoder=True)
        return Orientation(orientation_of_transforms(transforms), "heif", applied_by_decoder=True)
    info = metadata_info(image)
    try:
        if image.format == "TIFF":
            # Tag 274 of the first IFD, which Pillow's TIFF plugin applies while decoding.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = _exif_orientation(image.getexif())
            if value is not None:
                return _checked(value, "exif", applied=True)
        else:
            exif_bytes = info.get("exif")
            if isinstance(exif_bytes, bytes) and exif_bytes:
                value = _exif_orientation(_exif_from(exif_bytes))
                if value is not None:
                    return _checked(value, "exif", applied=False)
            raw = info.get("Raw profile type exif")
            if isinstance(raw, str) and not exif_bytes:
                value = _exif_orientation(_exif_from(_raw_profile(raw)))
                if value is not None:
                    return _checked(value, "raw-profile", applied=False)
    except (OSError, ValueError, TypeError, KeyError, IndexError, SyntaxError, EOFError):
        pass  # an unreadable EXIF block: fall through to XMP, else no orientation
    for key in ("XML:com.adobe.xmp", "xmp"):
        value = _xmp_orientation(info.get(key))
        if value is not None:
            return Orientation(value, "xmp", applied_by_decoder=False)
    return Orientation(1, "none", applied_by_decoder=image.format == "TIFF")
