"""Weekly highlight cases (附件3), with revisions, attachments and the urgent list."""
