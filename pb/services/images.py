"""Re-encode an uploaded picture into a few widths, with nothing of the original kept.

A phone photo carries EXIF metadata (often the place it was taken) and an orientation flag.
:func:`reencode` reads only JPEG, PNG and WebP, refuses anything over :data:`MAX_PIXELS`
before decoding it (a "decompression bomb" is a small file that decodes to gigabytes), checks
the file's structure, turns the pixels upright as the flag says, and then draws fresh images
of at most :data:`WIDTHS` pixels wide, saved as WebP with no metadata at all (no EXIF, XMP or
colour profile): what is served is pixels only. A picture narrower than a width is not
enlarged; its own width is used instead (once).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from pb.errors import ValidationError
from pb.i18n import gettext as _

WIDTHS = (320, 640, 1280)
FORMATS = ("JPEG", "PNG", "WEBP")
CONTENT_TYPE = "image/webp"
MAX_UPLOAD = 10 * 1024 * 1024  # bytes of one upload (a phone photo is 2–6 MB)
MAX_PIXELS = 50_000_000  # 50 megapixels: more than phone cameras take
MIN_SIDE = 32
QUALITY = 72

# Pillow's own guard, at our limit (it raises at twice this; we refuse before that).
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


@dataclass(frozen=True)
class Size:
    width: int
    height: int
    data: bytes


@dataclass(frozen=True)
class Encoded:
    sizes: list[Size]  # narrowest first
    digest: str  # SHA-256 over every size's bytes

    @property
    def largest(self) -> Size:
        return self.sizes[-1]


def _refuse(message: str) -> ValidationError:
    return ValidationError({"photo": message})


def _open(data: bytes) -> Image.Image:
    """Open, check the pixel count from the header, verify the structure, then decode."""
    unreadable = _("This file is not a JPEG, PNG or WebP picture we can read.")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=FORMATS) as probe:
                if probe.width * probe.height > MAX_PIXELS:
                    raise _refuse(_("This picture has too many pixels: take a smaller one."))
                probe.verify()
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            # A JPEG can decode at a fraction of its size: no need for more than we serve.
            image.draft("RGB", (WIDTHS[-1] * 2, WIDTHS[-1] * 2))
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _refuse(_("This picture has too many pixels: take a smaller one.")) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise _refuse(unreadable) from None
    return image


def _flatten(image: Image.Image) -> Image.Image:
    """Upright RGB pixels in a new image (transparency on white), without ``info``."""
    upright = ImageOps.exif_transpose(image) or image
    if upright.mode in ("RGBA", "LA") or (upright.mode == "P" and "transparency" in upright.info):
        rgba = upright.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
    else:
        flat = upright.convert("RGB")
    clean = Image.new("RGB", flat.size)
    clean.paste(flat)
    return clean


def reencode(data: bytes) -> Encoded:
    """The sizes of the picture in ``data`` (refused with a :class:`ValidationError` on the
    ``photo`` field when it is too large, not a picture, or too small to show)."""
    if len(data) > MAX_UPLOAD:
        raise _refuse(_("This file is too large: send a picture of at most 10 MB."))
    if not data:
        raise _refuse(_("Choose a picture to add."))
    image = _flatten(_open(data))
    if min(image.size) < MIN_SIDE:
        raise _refuse(_("This picture is too small to show."))
    sizes: list[Size] = []
    for target in WIDTHS:
        width = min(target, image.width)
        if sizes and sizes[-1].width == width:
            break
        height = max(1, round(image.height * width / image.width))
        resized = image.resize((width, height), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        # No exif=, xmp= or icc_profile= given: WebP gets pixels only.
        resized.save(out, "WEBP", quality=QUALITY, method=4)
        sizes.append(Size(width, height, out.getvalue()))
    digest = hashlib.sha256(b"".join(s.data for s in sizes)).hexdigest()
    return Encoded(sizes, digest)
