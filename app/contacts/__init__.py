"""A city HR bureau's contact person (联系人及联系方式): personal data, masked for viewers."""
