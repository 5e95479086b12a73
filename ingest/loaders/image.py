"""Images (.png, .jpg, .tif, .webp): the text in them, through offline OCR (ingest/ocr.py).

A multi-page TIFF is read page by page, cited as pages. An image with no text in it (a photo, an icon) gives
no sections, which the ingest records as a document with no chunks, not as a failure.
"""

from __future__ import annotations

import io
import re

from ingest import ocr
from ingest.types import LoadError, LoadOptions, Section

_REPR = re.compile(r"<[^<>]* object at 0x[0-9a-fA-F]+>")


def load(data: bytes, name: str, options: LoadOptions) -> list[Section]:
    if not options.ocr:
        raise LoadError("an image needs OCR, which is turned off (RAG_OCR=false)")
    try:
        from PIL import Image, ImageSequence, UnidentifiedImageError
    except ImportError as exc:
        raise LoadError(ocr.NOT_INSTALLED) from exc
    limit = f"over the limit of {options.max_image_pixels / 1e6:g} megapixels (RAG_MAX_IMAGE_MEGAPIXELS)"
    try:
        image = Image.open(io.BytesIO(data))  # reads the header only: the size is checked before any decoding
        width, height = image.size
        if width * height > options.max_image_pixels:
            raise LoadError(f"image of {width} × {height} pixels, {limit}")
        frames = getattr(image, "n_frames", 1)
        sections = []
        for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
            options.check_time(f"reading image page {number} of {frames}")
            options.report(f"OCR page {number} of {frames}" if frames > 1 else "OCR")
            text = ocr.recognise(frame.convert("RGB"))
            if text.strip():
                sections.append(Section(text=text, page=number if frames > 1 else None))
    except LoadError:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own guard, for images far over ours
        raise LoadError(f"image {limit}: {exc}") from exc
    except UnidentifiedImageError as exc:
        # Pillow's own message names the in-memory buffer (`<_io.BytesIO object at 0x...>`), not the file.
        raise LoadError(f"{name}: not an image Pillow can read (unknown format or damaged header)") from exc
    except (OSError, ValueError, SyntaxError) as exc:  # a damaged body: truncated data, bad chunks
        raise LoadError(f"{name}: unreadable image ({_without_reprs(str(exc))})") from exc
    return sections


def _without_reprs(message: str) -> str:
    """A library's message, less any `<... object at 0x...>` it puts in: that says nothing to a reader."""
    return _REPR.sub("the image", message).strip() or "damaged data"
