"""Images (.png, .jpg, .tif, .webp): the text in them, through offline OCR (ingest/ocr.py).

A multi-page TIFF is read page by page, cited as pages. An image with no text in it (a photo, an icon) gives
no sections, which the ingest records as a document with no chunks, not as a failure.
"""

from __future__ import annotations

import io

from ingest import ocr
from ingest.types import LoadError, LoadOptions, Section


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
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise LoadError(f"unreadable image: {exc}") from exc
    return sections
